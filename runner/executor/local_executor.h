#pragma once
// Tasks as child processes of this one (base/util/process.h), limited by a pool of slots.
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "runner/executor/executor.h"
#include "runner/executor/slot_pool.h"

namespace repro::runner {

struct LocalExecutorOptions {
  // Tasks running at once. With GPU ids, 0 means as many as the GPUs allow (CPU-only tasks are
  // then unlimited). Without GPU ids it must be >= 1: each task takes one CPU slot, a CPU task of
  // N processes (SlotRequest::processes) N slots; one asking for more than max_parallel never fits.
  int max_parallel = 1;
  // GPU ids to hand out ("0", "1", ... as CUDA_VISIBLE_DEVICES takes them). Empty: CPU only, and
  // tasks that ask for GPUs do not fit. A task asking for N takes N free ids (lowest first); a
  // CPU task gets CUDA_VISIBLE_DEVICES="" so that it cannot grab a GPU another task holds.
  std::vector<std::string> gpus;
  // Seconds between SIGTERM and SIGKILL when a task runs past its timeout. 30 s lets a trainer
  // write its checkpoint (docs/checkpoints.md).
  double kill_grace_s = 30;
};

// "0,1,2,3" -> {"0","1","2","3"}; "" -> {}. Spaces around ids are dropped. Throws ConfigError for
// an empty or repeated id ("0,,1", "0,0").
std::vector<std::string> parse_gpu_list(const std::string& list);

// The GPU ids in CUDA_VISIBLE_DEVICES (parse_gpu_list), or {} when it is unset or empty.
std::vector<std::string> gpus_from_environment();

// Each task is a child process in its own process group (so a terminal's Ctrl-C reaches only the
// orchestrator, which forwards it; and cancel() reaches the task's own children too), with
// PR_SET_PDEATHSIG = SIGTERM: if the orchestrator dies, even by SIGKILL, its tasks get SIGTERM,
// checkpoint and stop instead of running on as orphans. The orchestrator's rerun relaunches them
// (docs/runner.md, "A killed orchestrator").
//
// The destructor SIGKILLs the process groups of tasks still running and reaps them.
class LocalExecutor : public Executor {
 public:
  // Throws ConfigError when max_parallel < 1 without GPUs, or max_parallel < 0.
  explicit LocalExecutor(LocalExecutorOptions options);
  ~LocalExecutor() override;
  LocalExecutor(const LocalExecutor&) = delete;
  LocalExecutor& operator=(const LocalExecutor&) = delete;

  std::string name() const override { return "local"; }
  bool fits(const SlotRequest& slot) const override;
  bool can_launch(const SlotRequest& slot) const override;
  Launched launch(const LaunchRequest& request) override;
  std::vector<Finished> poll() override;
  void cancel(const std::string& key, bool force) override;
  void stop_all(bool force) override;
  int running() const override;

  // GPU ids not held by a running task, in pool order.
  std::vector<std::string> free_gpus() const;

 private:
  struct Child;
  LocalExecutorOptions options_;
  std::string host_;
  SlotPool pool_;
  std::vector<std::unique_ptr<Child>> children_;
};

}  // namespace repro::runner
