// repro cancel EXPERIMENT_OR_RUN: stops an experiment's runs, or one run, whether or not a
// `repro run` is working on them (runner/orchestrate/cancel.h; docs/runner.md, "Cancel"). Nothing
// here needs LibTorch.
#include <CLI/CLI.hpp>

#include <filesystem>
#include <ostream>

#include "base/util/errors.h"
#include "cli/commands.h"
#include "runner/orchestrate/cancel.h"
#include "store/store.h"

namespace repro::cli {

namespace {

namespace fs = std::filesystem;

struct CancelArgs {
  std::string name;
  std::string project = ".";
  std::string db;
  bool force = false;
};

std::string tasks(int n) { return std::to_string(n) + (n == 1 ? " task" : " tasks"); }

int cancel(const CancelArgs& a, std::ostream& out) {
  const std::string db = a.db.empty() ? (fs::path(a.project) / runner::kDefaultDatabaseName).string() : a.db;
  if (!fs::exists(db))
    throw IoError(db + ": no store here yet (run `repro run EXPERIMENT.yaml` first, or pass --project or --db)");
  runner::Store store(db);
  const runner::CancelTarget target = runner::resolve_cancel_target(store, a.name);
  runner::CancelOptions o;
  o.force = a.force;
  o.project_dir = a.project;
  const runner::CancelReport r = runner::cancel_runs(store, target, o);

  if (!target.experiment.empty())
    out << "experiment " << target.experiment << " (" << target.run_ids.size()
        << (target.run_ids.size() == 1 ? " run" : " runs") << ")";
  else
    out << "run " << target.run_ids[0];
  out << ": ";
  if (r.waiting) {
    out << "the `repro run` working in " << r.project_dir << " has not taken the request yet; it stays recorded and "
        << "is carried out at its next look (`repro status` shows the outcome)\n";
    return 0;
  }
  if (r.by_orchestrator)
    out << "the `repro run` working in " << r.project_dir << " took the request: cancelled " << tasks(r.cancelled_tasks)
        << " that had not started; " << tasks(r.stopped_tasks) << " running "
        << (a.force ? "being killed" : "asked to stop (they checkpoint and exit)");
  else
    out << "no `repro run` is working in " << r.project_dir << ": cancelled " << tasks(r.cancelled_tasks)
        << " that had not started; stopped " << tasks(r.stopped_tasks) << " that a killed `repro run` left running"
        << (r.slurm_jobs ? " (" + std::to_string(r.slurm_jobs) + " Slurm jobs scancelled)" : "");
  out << "; " << tasks(r.finished_tasks) << " already done, failed or cancelled\n";
  if (r.unfinished_jobs)
    out << r.unfinished_jobs << " Slurm job(s) did not end in time: their tasks stay running, and the next `repro run` "
        << "adopts them\n";
  return 0;
}

}  // namespace

void add_cancel_command(CLI::App& app, std::ostream& out, std::ostream& err, int* exit_code) {
  auto a = std::make_shared<CancelArgs>();
  auto* cmd = app.add_subcommand(
      "cancel", "Stop an experiment's runs, or one run, whether or not a `repro run` is working on them");
  cmd->footer(
      "A `repro run` working on them stops their running tasks gracefully (they checkpoint; --force kills them) and "
      "launches nothing more of them; other runs go on. With none alive, their pending tasks are cancelled in the "
      "store and tasks a killed `repro run` left running are stopped (local leftovers: SIGTERM; Slurm jobs: scancel). "
      "A cancel is not a completion: the next `repro run` of the experiment runs the cancelled tasks again, resuming "
      "from their checkpoints. Exit 0; 2 when the name is no experiment or run, or the start of several run ids "
      "(docs/runner.md, \"Cancel\").");
  cmd->add_option("EXPERIMENT_OR_RUN", a->name,
                  "an experiment's name, a run id, or the start of one (`repro status` lists them)")
      ->required();
  cmd->add_flag("--force", a->force,
                "kill the running tasks (SIGKILL, plain scancel) instead of letting them checkpoint");
  cmd->add_option("--project", a->project, "project directory")->capture_default_str();
  cmd->add_option("--db", a->db, "store file (default: PROJECT/repro.db)");
  cmd->callback([a, &out, exit_code] { *exit_code = cancel(*a, out); });
}

}  // namespace repro::cli
