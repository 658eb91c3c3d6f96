#pragma once
// The loop of `repro run` (docs/runner.md, "The loop") as named steps. Once:
//   admit                 record the plan's experiment, runs and tasks, write the task files, skip
//                         what is done, recover what a killed orchestrator left running (adopt it,
//                         or close its attempt as lost) and make every other task pending;
// then, every poll_interval_s until nothing runs and nothing can launch:
//   take_cancel_requests  `repro cancel`: cancel the named runs' pending tasks, stop their running ones;
//   take_stop_requests    signals: stop every task (then kill them), launch nothing more;
//   poll                  finish each attempt the executor reports ended: ingest its events,
//                         classify it, then done, retried after a backoff, failed or cancelled;
//   launch_ready          the pending tasks that may start, in plan order, in one launch_batch;
//   ingest_running        the events of running tasks, every ingest_interval_s;
// and finally summarize: one outcome per task.
// Time comes from a Clock and tasks run through an Executor, so tests drive the loop with a
// simulated clock and an in-memory executor (tests/support/fake_executor.h) in milliseconds.
// Orchestrator::run takes the project lock and runs one of these.
#include <map>
#include <set>
#include <string>
#include <vector>

#include "runner/executor/executor.h"
#include "runner/orchestrate/clock.h"
#include "runner/orchestrate/orchestrator.h"
#include "store/store.h"

namespace repro::runner {

class RunLoop {
 public:
  // The store, executor, options, clock and plan outlive the RunLoop.
  // REQUIRES: options.retry.max_attempts >= 1 (Orchestrator checks it); the caller holds the
  // project's lock (ProjectLock), so that no other orchestrator works on these tasks.
  RunLoop(Store& store, Executor& executor, const OrchestratorOptions& options, Clock& clock, const Plan& plan);
  ~RunLoop();
  RunLoop(const RunLoop&) = delete;
  RunLoop& operator=(const RunLoop&) = delete;

  // Runs the plan to its end: every task done, failed or cancelled (Orchestrator::run). Call once.
  // Throws IoError when a task file cannot be written or the store fails.
  OrchestratorSummary run();

 private:
  struct Task;

  // admit
  void record_plan();
  void write_task_files();
  void admit(Task& t);
  bool recover_running(Task& t);
  // take_requests
  void take_cancel_requests();
  void take_stop_requests();
  // poll
  void poll();
  void finish(Task& t, const Finished& f);
  AttemptVerdict verdict_on(const Task& t, const Finished& f) const;
  void retry_or_fail(Task& t, AttemptVerdict v);
  // launch
  enum class Readiness { kNever, kLater, kNow };
  bool launch_ready();
  Readiness readiness(Task& t);
  bool dependencies_allow(const Task& t, std::string* blocked) const;
  void launch(const std::vector<Task*>& ready);
  LaunchRequest request_for(const Task& t);
  void record_launch(Task& t, const LaunchRequest& request, const LaunchResult& result);
  // ingest
  void ingest_running();
  bool ingest(Task& t);
  // summarize
  OrchestratorSummary summarize() const;

  void set_state(Task& t, TaskState state, const std::string& reason);
  void fail(Task& t, const std::string& reason);
  void progress(Task& t, const std::string& message);
  void update_run_status(const std::string& run_id);

  Store& store_;
  Executor& executor_;
  const OrchestratorOptions& options_;
  Clock& clock_;
  const Plan& plan_;
  std::vector<Task> tasks_;
  std::map<std::string, size_t> index_;  // task id -> tasks_
  std::set<std::string> plan_runs_;
  bool stopping_ = false;  // a stop request came: nothing launches, every task is asked to stop
  bool forced_ = false;    // a second one: the tasks were killed
};

}  // namespace repro::runner
