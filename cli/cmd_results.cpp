// repro results [EXPERIMENT]: one row per run x sampling setting (reports/inspect.h).
#include <memory>

#include "cli/commands.h"
#include "reports/inspect.h"

namespace repro::cli {

void add_results_command(CLI::App& app, std::ostream& out, std::ostream& err, int* exit_code) {
  auto a = std::make_shared<reports::ResultsArgs>();
  auto* cmd = app.add_subcommand(
      "results", "An experiment's results: one row per run x sampling setting, axes and metric columns");
  cmd->add_option("EXPERIMENT", a->experiment, "an experiment's name in the store (default: the only one)");
  cmd->add_option("--where", a->filters,
                  "KEY=VALUE on an axis or a sampling setting (iteration, steps, sampler, eta, ema, num_samples); "
                  "repeatable: values of one key are alternatives, different keys must all hold")
      ->allow_extra_args(false);  // one KEY=VALUE per --where: EXPERIMENT may follow
  cmd->add_flag("--all", a->all, "include stale runs (of an earlier expansion of the experiment), marked");
  cmd->add_option("--format", a->format, "table, csv or json")->capture_default_str();
  cmd->add_option("--project", a->where.project, "project directory")->capture_default_str();
  cmd->add_option("--db", a->where.db, "store file (default: PROJECT/repro.db)");
  cmd->callback([a, &out, &err, exit_code] { *exit_code = reports::results_command(*a, out, err); });
}

}  // namespace repro::cli
