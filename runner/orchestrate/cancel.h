#pragma once
// `repro cancel EXPERIMENT_OR_RUN`: stops the runs an experiment name or a run id names, whether
// or not a `repro run` is working on them. The request reaches a live orchestrator through the
// store (cancel_requests, store/cancel_requests.h), which it polls once per loop; with no
// orchestrator alive, `repro cancel` does the work itself. A cancel is not a completion: the next
// `repro run` of the experiment launches the cancelled tasks again (they resume from their
// checkpoints). Policy: docs/runner.md, "Cancel".
#include <string>
#include <vector>

#include "runner/executor/slurm_executor.h"
#include "store/store.h"

namespace repro::runner {

// The reason a cancelled task (provenance state_reason) and its stopped attempt (attempts.reason)
// carry.
inline constexpr const char* kCancelledByRequest = "cancelled by repro cancel";

// The runs a cancel names.
struct CancelTarget {
  std::string name;                  // as given
  std::string experiment;            // the experiment it named; "" when it named a run
  std::vector<std::string> run_ids;  // an experiment's runs in matrix order, or the one run
};

// `name` as an experiment's name, else as a run id, else as the unique prefix of a run id (as
// `repro status` prints them). Throws ConfigError naming the store when it names nothing, when
// the experiment has no runs, or when a prefix fits several runs (a few are listed).
CancelTarget resolve_cancel_target(Store& store, const std::string& name);

struct CancelOptions {
  // Kill instead of a graceful stop: SIGKILL for a local task, a plain `scancel` for a Slurm job.
  bool force = false;
  // Seconds to wait for the `repro run` working in the project to take the request. It looks
  // once per loop (every 0.5 s by default), later while it recovers a killed run's leftovers.
  double ack_wait_s = 60;
  // How often the request and the project lock are looked at meanwhile.
  double poll_s = 0.1;
  // No `repro run` alive: seconds between the graceful stop of a task still running (SIGTERM to a
  // leftover process, `scancel --signal=TERM` to a Slurm job) and its kill, time to checkpoint
  // (as LocalExecutorOptions::kill_grace_s); then up to end_wait_s more for a Slurm job to end.
  double kill_grace_s = 30;
  double end_wait_s = 60;
  // The executor that stops Slurm jobs recorded as running (its programs must be on PATH when there
  // are any).
  SlurmExecutorOptions slurm;
  // Where to look for repro.lock when the runs' recorded directory (<project>/runs/<run_id>) no
  // longer exists (a moved project). "" = the store file's folder.
  std::string project_dir;
};

struct CancelReport {
  std::string project_dir;       // whose repro.lock told whether a `repro run` is alive
  bool by_orchestrator = false;  // the `repro run` working there took the request
  // It did not take the request within ack_wait_s: the request stays recorded and it takes it at
  // its next look; nothing was cancelled yet.
  bool waiting = false;
  int cancelled_tasks = 0;  // tasks that had not started (pending), now cancelled
  // Running tasks: asked to stop by the `repro run` (they end cancelled once they exit), or, with
  // none alive, stopped here and cancelled.
  int stopped_tasks = 0;
  int slurm_jobs = 0;  // of those stopped here, Slurm jobs scancelled
  // Slurm jobs that had not ended within kill_grace_s + end_wait_s: their tasks stay `running`
  // with the attempt open, and the next `repro run` adopts them (docs/runner.md, "Re-attach").
  int unfinished_jobs = 0;
  int finished_tasks = 0;  // done, failed or cancelled before: left as they were
};

// Cancels the target's runs (docs/runner.md, "Cancel"). Records one request per run; when a
// `repro run` holds the project's lock, waits until it takes them (it cancels the runs' pending
// tasks, asks their running attempts to stop, and launches nothing more of them). Otherwise takes
// the lock itself, so that no `repro run` starts meanwhile, and carries the requests out: pending
// tasks become cancelled; a task recorded as running (its orchestrator died) has its leftover
// process or Slurm job stopped (graceful, killed after kill_grace_s; killed at once with force),
// its attempt closed, and becomes cancelled. Throws IoError when the store or the lock file
// fails; ConfigError when Slurm jobs must be stopped and Slurm's programs are missing (nothing is
// changed then).
CancelReport cancel_runs(Store& store, const CancelTarget& target, const CancelOptions& options);

// The run's pending tasks become cancelled (provenance state_reason kCancelledByRequest); returns
// how many. Shared with the orchestrator.
int cancel_waiting_tasks(Store& store, const std::string& run_id);

// Sets the run's status from its tasks' states as the orchestrator does: running when one runs,
// done when all are, else failed, cancelled or pending, in that order.
void refresh_run_status(Store& store, const std::string& run_id);

}  // namespace repro::runner
