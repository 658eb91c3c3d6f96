#include "reports/report.h"

#include <algorithm>
#include <set>

#include "base/util/errors.h"
#include "base/util/strings.h"
#include "reports/observations.h"
#include "reports/report_figures.h"
#include "reports/table_cells.h"
#include "reports/table_layout.h"
#include "store/lookups.h"

namespace repro::reports {
namespace {

// A table in its phases: the results it shows, its rows and columns, each cell, then the bold.
TableResult build_table(const TableSpec& spec, const std::vector<Observation>& all, const ReportInput& input,
                        const ProvenanceIndex& provenance, std::vector<std::string>& warnings) {
  TableResult t;
  t.spec = spec;
  const std::vector<const Observation*> selected = select_observations(spec, all);
  TableLayout layout = table_layout(spec, selected, input.axes);
  t.row_keys = std::move(layout.row_keys);
  t.column_keys = std::move(layout.column_keys);
  for (const auto& row_key : t.row_keys) {
    std::vector<CellResult> row;
    for (const auto& column_key : t.column_keys)
      row.push_back(build_cell(spec, row_key, column_key, selected, provenance, warnings));
    t.cells.push_back(std::move(row));
  }
  mark_best(t);
  return t;
}

// An experiment without a report: section: one table over the axes (those of results whose file was
// not read too), the evaluation dimensions that vary and the metrics the results have.
TableSpec default_table_for(const ReportInput& input, const std::vector<Observation>& obs) {
  std::vector<std::string> axes, metrics, varying;
  for (const auto& [a, labels] : input.axes) axes.push_back(a);
  std::map<std::string, std::set<std::string>> values;
  for (const auto& o : obs) {
    for (const auto& [d, v] : o.dims) {
      values[d].insert(v);
      if (!contains(axes, d) && !contains(eval_dimensions(), d)) axes.push_back(d);  // axes of a file not read
    }
    if (!contains(metrics, o.metric) && contains(known_metrics(), o.metric)) metrics.push_back(o.metric);
  }
  for (const auto& d : eval_dimensions())
    if (values[d].size() > 1) varying.push_back(d);
  if (metrics.empty()) metrics.push_back(obs.empty() ? "fid" : obs.front().metric);
  auto rank = [](const std::string& m) {
    const auto& k = known_metrics();
    return std::find(k.begin(), k.end(), m) - k.begin();
  };
  std::stable_sort(metrics.begin(), metrics.end(), [&](const auto& a, const auto& b) { return rank(a) < rank(b); });
  return default_table(axes, varying, metrics);
}

}  // namespace

Report build_report(runner::Store& store, const ReportInput& input) {
  const auto obs = collect_observations(store, input.experiment);
  if (obs.empty() && !input.allow_no_results) {
    const size_t runs = runner::run_ids_of_experiment(store, input.experiment).size();
    throw ConfigError("repro report", "EXPERIMENT",
                      "experiment '" + input.experiment + "' has no results in " + store.path() + " yet (" +
                          std::to_string(runs) +
                          " runs): run `repro run` until its eval tasks are done (`repro status` shows them)");
  }
  Report r;
  r.experiment = input.experiment;
  r.description = input.description;
  r.file = input.file;
  r.warnings = input.warnings;
  ProvenanceIndex provenance(store, input.experiment);
  r.provenance = provenance.runs();
  const ReportSpec spec =
      input.spec && !input.spec->tables.empty() ? *input.spec : ReportSpec{{default_table_for(input, obs)}};
  for (const auto& t : spec.tables) r.tables.push_back(build_table(t, obs, input, provenance, r.warnings));
  r.fid_curves = fid_curves(obs);
  r.loss_curves = loss_curves(store, r.provenance);
  if (input.sample_grids) r.grids = sample_grids(store, r.provenance);
  return r;
}

}  // namespace repro::reports
