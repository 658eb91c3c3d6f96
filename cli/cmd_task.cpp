// repro task FILE.json: one task of an experiment, as `repro run` launches it (tasks/run_task.h).
#include <ostream>

#include "cli/cli_common.h"
#include "cli/commands.h"
#include "tasks/run_task.h"

namespace repro::cli {

void add_task_command(CLI::App& app, std::ostream& out, std::ostream& err, int* exit_code) {
  auto path = std::make_shared<std::string>();
  auto threads = std::make_shared<int>(0);
  auto* cmd = app.add_subcommand("task", "Run one task of an experiment (used by repro run)");
  cmd->add_option("FILE", *path, "the task file <run_dir>/tasks/<task_id>.json")->required();
  cmd->add_option("--threads", *threads,
                  "intra-op CPU threads of a train or sample task (0 = all cores; a data-parallel train task "
                  "gives each of its N local ranks cores/N)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->callback([path, threads, &err, exit_code] {
    *exit_code = tasks::run_task(*path, {*threads, program_args()}, err);
  });
}

}  // namespace repro::cli
