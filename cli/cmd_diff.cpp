// repro diff RUN_A RUN_B: the config and metric differences of two runs (reports/inspect.h).
#include <memory>

#include "cli/commands.h"
#include "reports/inspect.h"

namespace repro::cli {

void add_diff_command(CLI::App& app, std::ostream& out, std::ostream& err, int* exit_code) {
  auto a = std::make_shared<reports::DiffArgs>();
  auto* cmd = app.add_subcommand(
      "diff", "Two runs' config difference and metric difference at the sampling settings both were evaluated at");
  cmd->add_option("RUN_A", a->run_a, "a run id or a unique prefix of one")->required();
  cmd->add_option("RUN_B", a->run_b, "a run id or a unique prefix of one")->required();
  cmd->add_flag("--json", a->json, "machine-readable output");
  cmd->add_option("--project", a->where.project, "project directory")->capture_default_str();
  cmd->add_option("--db", a->where.db, "store file (default: PROJECT/repro.db)");
  cmd->callback([a, &out, &err, exit_code] { *exit_code = reports::diff_command(*a, out, err); });
}

}  // namespace repro::cli
