#pragma once
// The `report:` section of an experiment file (docs/reports.md): which tables to build from the
// results, their layout, the published numbers beside them and when a cell counts as reproduced.
// Strictly read: unknown keys, unknown dimensions or metrics and wrong types are ConfigErrors with
// file:line and the key path.
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace repro::reports {

// Where a run's weights come from: "released" for a run from a checkpoint file (its config, the
// run's identity, has a "checkpoint" member; docs/experiments.md), else "trained" by repro.
inline constexpr const char* kSourceDimension = "source";
inline const char* source_value(bool released) { return released ? "released" : "trained"; }

// The dimensions repro gives a result beside the matrix axes, and the name of the metric
// dimension: source (kSourceDimension), then the evaluation's own. eps_scale: Epsilon Scaling's
// lambda (core::eps_scale_text: "1.017", "1+0.0001i"; "1" unscaled); start_t: the chain's start K
// when it starts from data (Table 1).
inline const std::vector<std::string>& eval_dimensions() {
  static const std::vector<std::string> d = {kSourceDimension, "iteration", "steps",  "sampler", "eta", "ema",
                                             "num_samples",    "eps_scale", "start_t"};
  return d;
}
inline constexpr const char* kMetricDimension = "metric";

// Evaluation dimensions that change what is measured, not only how, with their neutral value:
// Epsilon Scaling's lambda and the start of a chain from data (0 = from noise). A table that does
// not name one (rows, columns or where:) shows only results at its neutral value: runs are shared
// between experiments (eps_scaling.yaml and table1.yaml reuse table3's), and without this rule
// a lambda-1.02 or a data-started FID would become a Table 3 cell's "last" pick.
inline const std::vector<std::pair<std::string, std::string>>& neutral_dimensions() {
  static const std::vector<std::pair<std::string, std::string>> d = {{"eps_scale", "1"}, {"start_t", "0"}};
  return d;
}

// Metric names results carry; lower is better for fid, sfid, kid.
const std::vector<std::string>& known_metrics();
bool lower_is_better(const std::string& metric);

// When |ours - published| counts as reproduced. One kind per entry.
struct Tolerance {
  enum class Kind { kAbsolute, kRelative, kSeeds };
  Kind kind = Kind::kRelative;
  double amount = 0.05;  // absolute: metric units; relative: a fraction of |published|; seeds: stds
};

// How to choose among results of one cell that differ in a dimension the table does not name.
enum class Pick { kLast, kFirst, kBest };

enum class BestIn { kColumn, kRow, kNone };

struct PublishedValue {
  std::map<std::string, std::string> dims;  // dimension -> value (axis labels, not display names)
  std::map<std::string, double> metrics;    // metric -> published value
  std::string where;                        // file:line
};

struct TableSpec {
  std::string id;                            // [A-Za-z0-9_.-]+, unique in the file
  std::string title;                         // default: the id
  std::vector<std::string> rows;             // dimensions, outer to inner
  std::vector<std::string> columns;          // dimensions, outer to inner; holds `metric` unless rows do
  std::vector<std::string> metrics;          // at least one of known_metrics()
  std::map<std::string, std::string> where;  // only results whose dimensions equal these
  std::map<std::string, Pick> pick;          // dimension -> pick; unlisted dimensions: last
  std::map<std::string, std::map<std::string, std::string>> labels;  // dimension -> value -> display
  BestIn best = BestIn::kColumn;
  int decimals = 2;                            // the paper's rounding
  std::map<std::string, Tolerance> tolerance;  // metric or "default" -> tolerance
  std::string published_source;
  int64_t published_num_samples = 50000;  // extension: published.num_samples (the paper's 50K)
  std::vector<PublishedValue> published;
  std::string where_defined;  // file:line of the table

  // The tolerance of `metric`: its own entry, else `default`, else relative 0.05.
  Tolerance tolerance_for(const std::string& metric) const;
  // The display name of a dimension value (labels, else the value; metrics: FID, sFID, ...).
  std::string label(const std::string& dimension, const std::string& value) const;
};

struct ReportSpec {
  std::vector<TableSpec> tables;
};

// Reads the report: mapping of `file`. `axes` are the experiment's matrix axis names (the seed
// axis is averaged over and may not be a table dimension). A null node gives no tables.
ReportSpec read_report_spec(const YAML::Node& report, const std::string& file, const std::vector<std::string>& axes);

// The table used when an experiment declares no report: section: rows = the axes (not seed) and
// the evaluation dimensions that take more than one value in `values`, columns = metric.
TableSpec default_table(const std::vector<std::string>& axes, const std::vector<std::string>& varying_eval_dims,
                        const std::vector<std::string>& metrics);

}  // namespace repro::reports
