#pragma once
// The figures of a report: metrics against training iterations and against sampling steps, the
// training loss and gradient norm, per table the sample grids of its runs side by side at each
// sampling-step count, and the exposure-bias curves of the exposure tasks (eval.exposure). HTML embeds them; `repro
// report --assets DIR` writes them as files (write_figure_files) that Markdown and LaTeX link.
#include <cstdint>
#include <string>
#include <vector>

#include "reports/observations.h"
#include "reports/provenance.h"
#include "reports/report_spec.h"
#include "reports/svg_plot.h"
#include "store/store.h"

namespace repro::reports {

// One sample task's PNG grid (its first 64 samples) in one table's figure row.
struct SampleGrid {
  std::string table_id;  // the table whose cells hold the run
  std::string steps;     // the row of grids: the sample task's steps ("100", "ddim50")
  std::string side;      // the display label of the side-by-side dimension's value ("ADM-IP")
  std::string side_dim;  // that dimension ("method"); "" = none: the run id stands in
  std::string run_id;
  std::string sample_task;
  std::string label;       // the run's axis labels
  std::string file;        // the asset file name ("grid-<sample task>.png")
  std::string png;         // the PNG's bytes (at most kMaxGridBytes)
  std::string png_base64;  // the same, for data: URLs
};

// A PNG over this size is left out with a warning: it keeps the HTML file openable.
inline constexpr uintmax_t kMaxGridBytes = 4u << 20;

// For each metric of known_metrics() and dataset: the metric against `x_dim` ("iteration" or
// "steps"), one curve per combination of the other dimensions that vary (method, ...), the mean
// over seeds with a min-max band where several seeds are present. Only plots where some curve
// has two or more x values. FID and sFID on a log y axis, steps on a log x axis, as the paper.
std::vector<Plot> metric_curves(const std::vector<Observation>& obs, const std::string& x_dim);

// The train tasks' `loss` and `grad_norm` (docs/events.md), one plot per metric and dataset, one
// curve per combination of the other axes (method, ...), mean over seeds with a min-max band; at
// most ~300 points a curve; log y axis.
std::vector<Plot> loss_curves(runner::Store& store, const std::vector<RunProvenance>& runs);

// The PNG grids the sample tasks of `experiment` recorded (store/figure_queries.h), per table: for
// each sampling-steps value among the table's results, one grid per value of the side-by-side
// dimension (`method` when the runs have it, else the table's first row axis), taken from the
// latest iteration's first seed. Files that are missing, larger than kMaxGridBytes, whose
// SHA-256 differs from the recorded one, or whose recorded path leaves the run directory
// (absolute, or with "..") are left out with a line in `warnings`.
std::vector<SampleGrid> sample_grids(runner::Store& store, const std::string& experiment,
                                     const std::vector<TableSpec>& tables, const std::vector<Observation>& obs,
                                     std::vector<std::string>& warnings);

// An exposure task's JSON over this size is left out with a warning (a 1000-step record is ~200 KB).
inline constexpr uintmax_t kMaxReportedExposureBytes = 8u << 20;

// The curves the experiment's exposure tasks recorded (eval.exposure: exposure/<task>.json, found
// through the store, store/figure_queries.h; read with core::read_exposure_json) as plots
// (exposure_plot.h). One group of plots per (dataset, iteration, steps, sampler and eta, eps_scale,
// start, mode, ema) of the tasks' specs, ordered so; in it one label per run from the side-by-side
// dimension (`method` when the runs have it, else the first of `axes` whose value varies; display
// labels from the first table that has them) and the other varying axes but seed as "axis=value";
// of several seeds of one label the first. Stale runs only with `include_stale`. Files that are
// missing, over kMaxReportedExposureBytes, whose SHA-256 differs from the recorded one, whose recorded path
// leaves the run directory, or that do not read as exposure curves are left out with a line in
// `warnings`, as are tasks whose spec does not read.
std::vector<Plot> exposure_curves(runner::Store& store, const std::string& experiment,
                                  const std::vector<TableSpec>& tables, const std::vector<std::string>& axes,
                                  bool include_stale, std::vector<std::string>& warnings);

// The grids of one table as rows (one per sampling steps value) of columns (one per side value).
struct GridTable {
  std::string table_id;
  std::vector<std::string> sides;  // column headers, in the grids' order
  // (steps, the grid of each side; nullptr where that side has none at these steps)
  std::vector<std::pair<std::string, std::vector<const SampleGrid*>>> rows;
};
// `grids` (as sample_grids orders them) grouped for the renderers; pointers into `grids`.
std::vector<GridTable> grid_tables(const std::vector<SampleGrid>& grids);

// Gives each plot its asset file name "plot-<nn>-<title words>.svg" (nn counts from 01 over all
// lists, so that the files sort in the report's order).
void name_plot_files(const std::vector<std::vector<Plot>*>& plot_lists);

// Writes every grid's PNG and every plot's SVG into `dir` (created) under its `file` name, each
// atomically (base/util/file_io.h). Throws IoError.
void write_figure_files(const std::string& dir, const std::vector<SampleGrid>& grids,
                        const std::vector<const std::vector<Plot>*>& plot_lists);

}  // namespace repro::reports
