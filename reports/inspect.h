#pragma once
// The bodies of `repro show`, `repro results` and `repro diff` (cli/cmd_show.cpp, cmd_results.cpp,
// cmd_diff.cpp only parse arguments). All three open the store read-only. Run and task ids may be
// given as unique prefixes, as git takes commits. Errors are thrown: ConfigError (exit 2) for an
// unknown or ambiguous id, experiment, --where key or format.
#include <nlohmann/json.hpp>

#include <iosfwd>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "reports/json_text.h"
#include "reports/report_command.h"
#include "store/store.h"

namespace repro::reports {

// ---- ids ----------------------------------------------------------------------------------------

struct ResolvedId {
  enum class Kind { kRun, kTask };
  Kind kind = Kind::kRun;
  std::string id;  // the full id
};

// `id` as a run id or a unique prefix of one, else (allow_tasks) as a task id or a unique prefix of
// one; an exact id wins over longer ids it is a prefix of. Runs come first because a task id
// starts with its run's id. Throws ConfigError naming `command` and `key` for an
// empty id, an unknown one, or a prefix of several ids (the message lists up to 10).
ResolvedId resolve_id(runner::Store& store, const std::string& id, bool allow_tasks, const std::string& command,
                      const std::string& key);

// ---- sampling settings --------------------------------------------------------------------------

// The settings a result was measured at, in column order: (name, key of the sample task's spec).
// iteration = checkpoint_step.
const std::vector<std::pair<std::string, std::string>>& sampling_settings();

// The sample spec's value of each of sampling_settings() (null where the spec lacks it; for a
// spec that is an object, eps_scale is always given as core::eps_scale_text, "1" unscaled, and
// start_t as 0 for a chain from noise).
std::vector<nlohmann::json> setting_values(const std::string& sample_spec);

// Whether `value` of setting `name` is its neutral value (reports/report_spec.h
// neutral_dimensions: eps_scale 1, start_t 0), which the texts of show and diff leave out.
bool at_neutral_value(const std::string& name, const nlohmann::json& value);

// ---- repro show ---------------------------------------------------------------------------------

// Everything the store knows of one run: source (released | trained), config, experiments (axes,
// stale), provenance, each task (kind, state, attempts, first start, last end, time = the sum of
// its finished attempts, log of the last attempt, spec, results, artifacts with absolute paths
// under the run directory), and the run's results. REQUIRES: the run exists.
nlohmann::ordered_json show_run(runner::Store& store, const std::string& run_id);
// One task: its run, kind, state, spec, provenance, every attempt, results, artifacts.
// REQUIRES: the task exists.
nlohmann::ordered_json show_task(runner::Store& store, const std::string& task_id);
// The text form of show_run() / show_task().
std::string render_show(const nlohmann::ordered_json& shown);

struct ShowArgs {
  StoreLocation where;
  std::string id;
  bool json = false;
};
// Returns 0.
int show_command(const ShowArgs& args, std::ostream& out, std::ostream& err);

// ---- repro results ------------------------------------------------------------------------------

// One cell of a results table; `number`: a number repro wrote (CSV leaves it unneutralised).
struct ResultCell {
  std::string text;
  bool number = false;
};

// One row per run x result id (the sampling setting and evaluator recipe) of an experiment.
struct ResultsTable {
  std::string experiment;
  bool with_stale = false;  // a leading "stale" column
  // A "source" column after run (released | trained, report_spec.h kSourceDimension): some row
  // shown is of a run from a checkpoint file and no axis is named source.
  bool with_source = false;
  std::vector<std::string> axes;     // axis names, sorted
  std::vector<std::string> metrics;  // metric names, sorted
  struct Row {
    std::string run_id;
    std::string result_id;
    bool stale = false;
    bool released = false;  // the run is from a checkpoint file
    nlohmann::ordered_json axes = nlohmann::ordered_json::object();
    std::vector<nlohmann::json> settings;        // as sampling_settings()
    std::vector<std::optional<double>> metrics;  // as ResultsTable::metrics; nullopt: none
  };
  std::vector<Row> rows;  // matrix order, then result id
  // Without include_stale: the stale runs with rows the filters keep, which are left out.
  int stale_left_out = 0;
};

// `where`: "key=value" filters on an axis, source (released | trained; an axis of that name wins)
// or a sampling setting (values compare as dim_equal); filters on one key are alternatives, on
// different keys all must hold. Throws ConfigError for a filter without '=' or with a key that is
// none of these.
ResultsTable results_table(runner::Store& store, const std::string& experiment, const std::vector<std::string>& where,
                           bool include_stale);

// Columns: [stale], the axes, run, [source], the settings, the metrics.
std::vector<std::string> results_header(const ResultsTable& t);
std::vector<std::vector<ResultCell>> results_cells(const ResultsTable& t);
std::string render_results_table(const ResultsTable& t);
std::string render_results_csv(const ResultsTable& t);
std::string render_results_json(const ResultsTable& t);

struct ResultsArgs {
  StoreLocation where;
  std::string experiment;  // "" = the only one in the store
  std::vector<std::string> filters;
  bool all = false;
  std::string format = "table";
};
// Returns 0.
int results_command(const ResultsArgs& args, std::ostream& out, std::ostream& err);

// ---- repro diff ---------------------------------------------------------------------------------

// The config difference (flattened key paths, a.b.c; arrays as a whole) and, for each sampling
// setting both runs have results at, the metrics both have: {"a", "b", "config": [{"key",
// "status": changed|added|removed, "a", "b"}], "metrics": [{"settings", "metric", "a", "b",
// "difference", "same_recipe"}], "only_a": [...], "only_b": [...]} (only_*: settings one run lacks).
// REQUIRES: both runs exist.
nlohmann::ordered_json diff_runs(runner::Store& store, const std::string& run_a, const std::string& run_b);
std::string render_diff(const nlohmann::ordered_json& diff);

struct DiffArgs {
  StoreLocation where;
  std::string run_a;
  std::string run_b;
  bool json = false;
};
// Returns 0.
int diff_command(const DiffArgs& args, std::ostream& out, std::ostream& err);

}  // namespace repro::reports
