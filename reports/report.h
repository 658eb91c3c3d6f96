#pragma once
// A report: the experiment's tables (ours beside the published numbers, with verdicts), the
// warnings, the curves and the provenance appendix, built from the store and the experiment's
// report: section. The renderers (render.h) turn it into text; it holds everything they show.
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "reports/provenance.h"
#include "reports/report_figures.h"
#include "reports/report_spec.h"
#include "reports/result_banners.h"
#include "reports/seed_stats.h"
#include "reports/svg_plot.h"
#include "reports/verdict.h"
#include "store/store.h"

namespace repro::reports {

struct CellResult {
  std::string metric;
  std::map<std::string, std::string> dims;  // the cell's row and column dimensions (not metric)
  std::optional<SeedStats> ours;            // over the seeds of the picked results
  std::optional<double> published;
  std::optional<double> difference;  // ours.mean - published
  Verdict verdict = Verdict::kEmpty;
  std::string note;                           // why not comparable, ...
  bool best = false;                          // bold: best of ours in its column or row
  std::vector<std::string> runs;              // run ids behind ours
  std::map<std::string, std::string> picked;  // other dimensions of the picked results (iteration, ...)
  std::vector<std::string> warnings;          // provenance differences among the cell's results
  std::vector<std::string> marks;             // Banner::mark of each banner that concerns the cell
};

struct TableResult {
  TableSpec spec;
  std::vector<std::vector<std::string>> row_keys;     // [row][i]: value of spec.rows[i]
  std::vector<std::vector<std::string>> column_keys;  // [column][i]: value of spec.columns[i]
  std::vector<std::vector<CellResult>> cells;         // [row][column]
};

struct Report {
  std::string experiment;
  std::string description;
  std::string file;  // the experiment file read ("" when none)
  std::vector<TableResult> tables;
  std::vector<std::string> warnings;
  std::vector<Banner> banners;            // above the tables in every format (result_banners.h)
  std::vector<RunProvenance> provenance;  // per run, matrix order
  std::vector<Plot> fid_curves;           // FID and the other metrics vs training iterations (report_figures.h)
  std::vector<Plot> step_curves;          // the metrics vs sampling steps
  std::vector<Plot> loss_curves;          // training loss and gradient norm, per metric and dataset
  std::vector<SampleGrid> grids;          // per table, by steps, side by side (empty unless input.sample_grids)
  // The exposure tasks' curves (eval.exposure), per group three plots (exposure_plot.h); empty
  // unless input.sample_grids.
  std::vector<Plot> exposure_curves;
};

struct ReportInput {
  std::string experiment;
  std::string description;
  std::string file;
  // Axis names and labels in the experiment file's declared order (rows and columns follow it).
  std::vector<std::pair<std::string, std::vector<std::string>>> axes;
  std::optional<ReportSpec> spec;     // empty: one default table (report_spec.h)
  std::vector<std::string> warnings;  // carried into the report (e.g. the file changed)
  bool sample_grids = true;           // read the sample tasks' PNG grids and exposure JSON (HTML, --assets)
  bool allow_no_results = false;      // compare: every baseline value is then "missing"
  // Show the results of stale runs (of earlier expansions) in rows of their own, marked " (stale)".
  // false: they are left out, and a warning counts them (docs/reports.md, Stale runs).
  bool include_stale = false;
};

// Throws ConfigError (key EXPERIMENT) when the experiment has no results in the store, unless
// input.allow_no_results.
Report build_report(runner::Store& store, const ReportInput& input);

}  // namespace repro::reports
