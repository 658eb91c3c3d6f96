#pragma once
// Executors run task processes for the orchestrator: launch, poll for the finished, cancel, stop
// all. The orchestrator is single-threaded and calls an executor from one thread only; nothing
// here is thread-safe. Implementations: LocalExecutor (child processes on this machine, a slot
// pool); SlurmExecutor (batch jobs: sbatch/squeue/scancel).
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/util/errors.h"

namespace repro::runner {

// What a task needs to run: GPUs, and the processes (ranks) it runs as. A data-parallel train
// task asks for N processes and, on GPUs, N GPUs (one each); on CPUs it takes N CPU slots.
struct SlotRequest {
  int gpus = 0;       // number of GPU ids the task gets in CUDA_VISIBLE_DEVICES
  int processes = 0;  // ranks (Slurm: --ntasks); 0: one per GPU, at least 1
  int ranks() const { return processes > 0 ? processes : (gpus > 1 ? gpus : 1); }
};

struct LaunchRequest {
  std::string key;                         // unique among the executor's running tasks (the task id)
  std::vector<std::string> argv;           // argv[0] is the program (a path, not searched on PATH)
  std::map<std::string, std::string> env;  // set on top of this process's environment
  std::string working_dir;                 // "" = this process's
  std::string log_path;                    // stdout and stderr of the attempt (appended to); its folder must exist
  SlotRequest slot;
  double timeout_s = 0;  // wall-clock limit; then SIGTERM, then SIGKILL after the grace; 0 = none
};

// What a launch got.
struct Launched {
  std::string job_id;  // the child's pid for the local executor; a job id for Slurm
  std::string host;    // where it runs
  std::string gpus;    // the GPU ids handed over ("0,1"); "" = none
};

// What launch_batch() did with one request.
struct LaunchResult {
  std::optional<Launched> launched;  // set when the task was started
  std::string error;                 // set when starting it failed (the IoError's message)
  // Both empty: no slot was free for it; nothing was started and it may be asked for again.
};

// How a launched task ended.
struct Finished {
  std::string key;
  std::optional<int> exit_code;  // the exit status when it exited; empty when a signal killed it
  std::optional<int> signal;     // the signal that killed it, when one did
  bool timed_out = false;        // the executor stopped it at its timeout
  bool cancelled = false;        // cancel() or stop_all() was called for it
  double seconds = 0;            // wall-clock duration
  // The shell's view of exit_code/signal: the code, or 128 + signal.
  int status() const { return exit_code ? *exit_code : 128 + signal.value_or(0); }
};

class Executor {
 public:
  virtual ~Executor() = default;

  // "local", "slurm", ...
  virtual std::string name() const = 0;

  // Whether the request can ever run here (a task asking for 3 GPUs on a 2-GPU pool cannot).
  virtual bool fits(const SlotRequest& slot) const = 0;

  // Whether a slot for the request is free now.
  virtual bool can_launch(const SlotRequest& slot) const = 0;

  // Starts the task. Preconditions: can_launch(request.slot), no running task with this key.
  // Throws IoError when the process cannot be started (its slot is free again).
  virtual Launched launch(const LaunchRequest& request) = 0;

  // Starts what it can of `requests` (tasks ready at the same moment), in order: a request whose
  // slot is not free is left out (a later, smaller one may still fit). Results are index-aligned
  // with `requests`. Preconditions as launch(), but for can_launch(), which this checks. The
  // default launches one request at a time; an executor may submit several together
  // (SlurmExecutor: one job array).
  virtual std::vector<LaunchResult> launch_batch(const std::vector<LaunchRequest>& requests) {
    std::vector<LaunchResult> out(requests.size());
    for (size_t i = 0; i < requests.size(); ++i) {
      if (!can_launch(requests[i].slot)) continue;
      try {
        out[i].launched = launch(requests[i]);
      } catch (const IoError& e) {
        out[i].error = e.what();
      }
    }
    return out;
  }

  // Non-blocking: reaps the tasks that ended since the last call (their slots are free again) and
  // enforces timeouts.
  virtual std::vector<Finished> poll() = 0;

  // Asks the task to stop: SIGTERM to its process group (a trainer checkpoints and exits 6), or
  // SIGKILL with `force`. Its Finished says cancelled. Unknown keys are ignored.
  virtual void cancel(const std::string& key, bool force) = 0;

  // cancel() for every running task.
  virtual void stop_all(bool force) = 0;

  // Tasks launched and not yet reaped by poll().
  virtual int running() const = 0;

  // Takes over a task an earlier instance launched (an orchestrator restarted while the task ran),
  // by the job id and log path the store recorded; its Finished then comes from poll(). False when
  // the executor cannot (the default: a local child belongs to the process that started it) or
  // the job is gone; the caller then treats the attempt as lost.
  virtual bool adopt(const std::string& /*key*/, const std::string& /*job_id*/, const std::string& /*log_path*/) {
    return false;
  }
};

}  // namespace repro::runner
