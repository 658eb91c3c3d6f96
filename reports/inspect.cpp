// What repro show, results and diff share: ids by prefix, sampling settings, and the command
// bodies (the views of each are inspect_show.cpp, inspect_results.cpp, inspect_diff.cpp).
#include "reports/inspect.h"

#include <algorithm>
#include <ostream>

#include "base/diffusion/eps_scale.h"
#include "base/util/errors.h"
#include "base/util/strings.h"
#include "reports/observations.h"
#include "reports/report_spec.h"
#include "store/inspect_queries.h"
#include "store/lookups.h"
#include "store/queries.h"

namespace repro::reports {
namespace {

using json = nlohmann::json;

constexpr int kListed = 10;  // candidates an ambiguous prefix lists

std::string only_experiment(runner::Store& store, const std::string& db) {
  const std::vector<std::string> names = runner::experiment_names(store);
  if (names.size() == 1) return names.front();
  throw ConfigError("repro results", "EXPERIMENT",
                    names.empty() ? "the store " + db + " holds no experiment yet"
                                  : "the store holds several experiments; name one of: " + join(names, ", "));
}

}  // namespace

ResolvedId resolve_id(runner::Store& store, const std::string& id, bool allow_tasks, const std::string& command,
                      const std::string& key) {
  const std::string what = allow_tasks ? "run or task" : "run";
  if (id.empty()) throw ConfigError(command, key, "expected a " + what + " id (or a prefix of one), got ''");
  // Runs first: a task id starts with its run's id, so a prefix of one run id is also a prefix of
  // that run's task ids, and means the run.
  const auto runs = runner::run_ids_starting_with(store, id, kListed + 1);
  if (runs.size() == 1 || (!runs.empty() && runs.front() == id)) return {ResolvedId::Kind::kRun, runs.front()};
  std::vector<std::string> tasks;
  if (allow_tasks && runs.empty()) tasks = runner::task_ids_starting_with(store, id, kListed + 1);
  if (tasks.size() == 1 || (!tasks.empty() && tasks.front() == id)) return {ResolvedId::Kind::kTask, tasks.front()};
  if (runs.empty() && tasks.empty())
    throw ConfigError(command, key, "no " + what + " '" + id + "' in " + store.path() + " (`repro status` lists them)");
  std::vector<std::string> candidates;
  candidates.reserve(runs.size() + tasks.size());
  for (const auto& r : runs) candidates.push_back("run " + r);
  for (const auto& t : tasks) candidates.push_back("task " + t);
  const bool more = candidates.size() > static_cast<size_t>(kListed);
  if (more) candidates.resize(kListed);
  throw ConfigError(command, key,
                    "'" + id + "' is a prefix of several ids: " + join(candidates, ", ") + (more ? ", ..." : "") +
                        " (give more characters)");
}

const std::vector<std::pair<std::string, std::string>>& sampling_settings() {
  static const std::vector<std::pair<std::string, std::string>> s = {{"iteration", "checkpoint_step"},
                                                                     {"steps", "steps"},
                                                                     {"sampler", "sampler"},
                                                                     {"eta", "eta"},
                                                                     {"ema", "ema"},
                                                                     {"num_samples", "num_samples"},
                                                                     {"eps_scale", "eps_scale_b"},
                                                                     {"start_t", "start_t"}};
  return s;
}

std::vector<json> setting_values(const std::string& sample_spec) {
  const json spec = json::parse(sample_spec, nullptr, false);
  std::vector<json> out;
  for (const auto& [name, key] : sampling_settings()) {
    if (!spec.is_object()) {
      out.emplace_back();
    } else if (name == "eps_scale") {  // lambda as the report names it; specs leave 1 and 0 out
      core::EpsScale lambda;
      if (spec.contains("eps_scale_b") && spec["eps_scale_b"].is_number()) lambda.b = spec["eps_scale_b"].get<double>();
      if (spec.contains("eps_scale_k") && spec["eps_scale_k"].is_number()) lambda.k = spec["eps_scale_k"].get<double>();
      out.emplace_back(core::eps_scale_text(lambda));
    } else if (name == "start_t") {  // 0: a chain from noise (left out of the spec)
      out.push_back(spec.contains(key) ? spec[key] : json(0));
    } else {
      out.push_back(spec.contains(key) ? spec[key] : json());
    }
  }
  return out;
}

bool at_neutral_value(const std::string& name, const json& value) {
  for (const auto& [d, neutral] : neutral_dimensions())
    if (d == name) return dim_equal(scalar_text(value, ""), neutral);
  return false;
}

int show_command(const ShowArgs& args, std::ostream& out, std::ostream&) {
  runner::Store store = open_existing_store(args.where, "repro show");
  const ResolvedId id = resolve_id(store, args.id, true, "repro show", "RUN_OR_TASK");
  const nlohmann::ordered_json shown =
      id.kind == ResolvedId::Kind::kRun ? show_run(store, id.id) : show_task(store, id.id);
  out << (args.json ? dump_json(shown, 2) + "\n" : render_show(shown));
  return 0;
}

int results_command(const ResultsArgs& args, std::ostream& out, std::ostream& err) {
  if (args.format != "table" && args.format != "csv" && args.format != "json")
    throw ConfigError("repro results", "--format", "expected table, csv or json, got '" + args.format + "'");
  runner::Store store = open_existing_store(args.where, "repro results");
  const std::string db = store.path();
  const std::string experiment = args.experiment.empty() ? only_experiment(store, db) : args.experiment;
  if (!runner::experiment_exists(store, experiment))
    throw ConfigError("repro results", "EXPERIMENT",
                      "no experiment '" + experiment + "' in " + db +
                          " (it holds: " + join(runner::experiment_names(store), ", ") + ")");
  const ResultsTable t = results_table(store, experiment, args.filters, args.all);
  if (args.format == "csv")
    out << render_results_csv(t);
  else if (args.format == "json")
    out << render_results_json(t);
  else
    out << render_results_table(t);
  if (t.rows.empty())
    err << "repro results: " << (args.filters.empty() ? "no results yet" : "no results match the --where filters")
        << "\n";
  if (t.stale_left_out > 0)
    err << "repro results: " << t.stale_left_out
        << " stale run(s) of an earlier expansion left out (--all shows them)\n";
  return 0;
}

int diff_command(const DiffArgs& args, std::ostream& out, std::ostream&) {
  runner::Store store = open_existing_store(args.where, "repro diff");
  const std::string a = resolve_id(store, args.run_a, false, "repro diff", "RUN_A").id;
  const std::string b = resolve_id(store, args.run_b, false, "repro diff", "RUN_B").id;
  const nlohmann::ordered_json diff = diff_runs(store, a, b);
  out << (args.json ? dump_json(diff, 2) + "\n" : render_diff(diff));
  return 0;
}

}  // namespace repro::reports
