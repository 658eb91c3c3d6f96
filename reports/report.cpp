#include "reports/report.h"

#include <algorithm>
#include <optional>
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

// What a report is built from besides the spec: the observations of the current expansion, those
// of stale runs (shown only with include_stale), and the runs' configs and provenance.
struct Sources {
  std::vector<Observation> current;
  std::vector<Observation> stale;
  RunConfigs configs;
  const ProvenanceIndex& provenance;
};

// The cells of one row of `selected` at the table's column keys.
std::vector<CellResult> build_row(const TableResult& t, const std::vector<std::string>& row_key,
                                  const std::vector<const Observation*>& selected, const Sources& in,
                                  std::vector<std::string>& warnings) {
  std::vector<CellResult> row;
  for (const auto& column_key : t.column_keys)
    row.push_back(build_cell(t.spec, row_key, column_key, selected, in.configs, in.provenance, warnings));
  return row;
}

// With include_stale: rows of their own below the table's, one per row key the stale results have,
// marked (stale_row_key) and never bold; their warnings say they are about stale rows.
void add_stale_rows(TableResult& t, const std::vector<const Observation*>& stale, const ReportInput& input,
                    const Sources& in, std::vector<std::string>& warnings) {
  if (t.spec.rows.empty()) {
    warnings.push_back(t.spec.id + ": no row dimension to mark stale rows by: its stale results are not shown");
    return;
  }
  TableSpec own = t.spec;
  own.published.clear();  // rows for the stale results alone
  std::vector<std::string> stale_warnings;
  for (const auto& row_key : table_layout(own, stale, input.axes).row_keys) {
    t.row_keys.push_back(stale_row_key(t.spec, row_key));
    t.cells.push_back(build_row(t, row_key, stale, in, stale_warnings));
    for (auto& c : t.cells.back())
      if (c.ours) c.warnings.insert(c.warnings.begin(), "from runs of an earlier expansion (stale)");
  }
  for (const auto& w : stale_warnings) warnings.push_back(w + " (stale rows)");
}

// A table in its phases: the results it shows, its rows and columns, each cell, then the bold,
// then the rows of stale results (include_stale).
TableResult build_table(const TableSpec& spec, const Sources& in, const ReportInput& input,
                        std::vector<std::string>& warnings) {
  TableResult t;
  t.spec = spec;
  const std::vector<const Observation*> selected = select_observations(spec, in.current);
  const std::vector<const Observation*> stale =
      input.include_stale ? select_observations(spec, in.stale) : std::vector<const Observation*>{};
  TableLayout layout = table_layout(spec, selected, input.axes);
  t.row_keys = std::move(layout.row_keys);
  t.column_keys = std::move(layout.column_keys);
  if (!stale.empty()) {  // columns for every value shown
    std::vector<const Observation*> both = selected;
    both.insert(both.end(), stale.begin(), stale.end());
    t.column_keys = table_layout(spec, both, input.axes).column_keys;
  }
  for (const auto& row_key : t.row_keys) t.cells.push_back(build_row(t, row_key, selected, in, warnings));
  mark_best(t);
  if (!stale.empty()) add_stale_rows(t, stale, input, in, warnings);
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

// "N runs of earlier expansions ...": how many stale runs have results, and where they went.
std::optional<std::string> stale_warning(const ReportInput& input, const std::vector<Observation>& stale) {
  std::set<std::string> runs;
  for (const auto& o : stale) runs.insert(o.run_id);
  if (runs.empty()) return std::nullopt;
  const std::string n = runs.size() == 1 ? "1 run" : std::to_string(runs.size()) + " runs";
  if (input.include_stale)
    return n + " of earlier expansions of '" + input.experiment + "' shown in rows marked (stale)";
  return n + " of earlier expansions of '" + input.experiment +
         "' left out (stale); `repro report --include-stale` shows them";
}

[[noreturn]] void throw_no_results(runner::Store& store, const ReportInput& input,
                                   const std::vector<Observation>& stale) {
  const size_t runs = runner::run_ids_of_experiment(store, input.experiment).size();
  const auto left_out = stale_warning(input, stale);
  throw ConfigError("repro report", "EXPERIMENT",
                    "experiment '" + input.experiment + "' has no results in " + store.path() + " yet (" +
                        std::to_string(runs) + " runs" + (left_out ? "; " + *left_out : "") +
                        "): run `repro run` until its eval tasks are done (`repro status` shows them)");
}

}  // namespace

Report build_report(runner::Store& store, const ReportInput& input) {
  std::vector<Observation> current, stale;
  for (auto& o : collect_observations(store, input.experiment)) (o.stale ? stale : current).push_back(std::move(o));
  if (current.empty() && !(input.include_stale && !stale.empty()) && !input.allow_no_results)
    throw_no_results(store, input, stale);
  // Everything shown: the current expansion's results, and with include_stale the stale ones.
  std::vector<Observation> shown = current;
  if (input.include_stale) shown.insert(shown.end(), stale.begin(), stale.end());
  Report r;
  r.experiment = input.experiment;
  r.description = input.description;
  r.file = input.file;
  r.warnings = input.warnings;
  if (const auto w = stale_warning(input, stale)) r.warnings.push_back(*w);
  ProvenanceIndex provenance(store, input.experiment);
  const Sources sources{std::move(current), std::move(stale), run_configs(store, input.experiment), provenance};
  for (const auto& run : provenance.runs())
    if (input.include_stale || !sources.configs.count(run.run_id) || !sources.configs.at(run.run_id).stale)
      r.provenance.push_back(run);
  const ReportSpec spec =
      input.spec && !input.spec->tables.empty() ? *input.spec : ReportSpec{{default_table_for(input, shown)}};
  for (const auto& t : spec.tables) r.tables.push_back(build_table(t, sources, input, r.warnings));
  apply_result_banners(r, shown);
  r.fid_curves = metric_curves(sources.current, "iteration");
  r.step_curves = metric_curves(sources.current, "steps");
  r.loss_curves = loss_curves(store, r.provenance);
  if (input.sample_grids) {
    r.grids = sample_grids(store, input.experiment, spec.tables, shown, r.warnings);
    std::vector<std::string> axes;
    for (const auto& [axis, labels] : input.axes) axes.push_back(axis);
    r.exposure_curves = exposure_curves(store, input.experiment, spec.tables, axes, input.include_stale, r.warnings);
  }
  name_plot_files({&r.fid_curves, &r.step_curves, &r.loss_curves, &r.exposure_curves});
  return r;
}

}  // namespace repro::reports
