// repro show RUN_OR_TASK: one run or task in full (reports/inspect.h).
#include <memory>

#include "cli/commands.h"
#include "reports/inspect.h"

namespace repro::cli {

void add_show_command(CLI::App& app, std::ostream& out, std::ostream& err, int* exit_code) {
  auto a = std::make_shared<reports::ShowArgs>();
  auto* cmd = app.add_subcommand(
      "show", "A run's config, provenance, tasks (state, timing, logs), results and artifacts, or one task's");
  cmd->add_option("RUN_OR_TASK", a->id, "a run or task id, or a unique prefix of one (`repro status` lists them)")
      ->required();
  cmd->add_flag("--json", a->json, "machine-readable output");
  cmd->add_option("--project", a->where.project, "project directory")->capture_default_str();
  cmd->add_option("--db", a->where.db, "store file (default: PROJECT/repro.db)");
  cmd->callback([a, &out, &err, exit_code] { *exit_code = reports::show_command(*a, out, err); });
}

}  // namespace repro::cli
