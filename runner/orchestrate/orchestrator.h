#pragma once
// The orchestration loop of `repro run`: records an experiment's runs and tasks in the store,
// launches each task whose dependencies are done through an Executor, ingests the tasks'
// events.jsonl while they run and after they end, retries failures that may be transient, and
// stops gracefully on request. Policy and file layout: docs/runner.md.
#include <nlohmann/json.hpp>
#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "runner/executor/executor.h"
#include "runner/experiment/expand.h"
#include "runner/plan/task_graph.h"
#include "runner/store/records.h"
#include "runner/store/store.h"
#include "runner/store/task_state.h"

namespace repro::runner {

// A run as the orchestrator records it (runs + experiment_runs).
struct PlanRun {
  std::string run_id;
  nlohmann::json axes = nlohmann::json::object();  // axis -> label of the matrix cell
  int64_t position = 0;                            // index of the cell in the expanded matrix
  std::string config = "{}";                       // the resolved config the run id hashes: compact JSON, as stored
};

// Everything one `repro run` launches. Tasks: dependencies before dependants (plan_tasks order).
struct Plan {
  ExperimentRow experiment;
  std::vector<PlanRun> runs;
  std::vector<TaskSpec> tasks;
};

// The plan of an expanded experiment file: runs in matrix order (cells sharing a run appear once,
// at their first position) and plan_tasks(expansion.runs).
Plan make_plan(const ExperimentRow& experiment, const Expansion& expansion);

// Paths under the project directory (docs/runner.md, "Files").
std::string run_dir_of(const std::string& project_dir, const std::string& run_id);       // <project>/runs/<run_id>
std::string task_file_of(const std::string& run_dir, const std::string& task_id);        // <run_dir>/tasks/<task_id>.json
// <run_dir>/tasks/<task_id>.events.jsonl (docs/events.md), for every kind: a longer training of
// a run is a new train task with its own file.
std::string events_file_of(const std::string& run_dir, const TaskSpec& task);
std::string log_file_of(const std::string& run_dir, const std::string& task_id, int attempt);  // <run_dir>/logs/<task_id>.<attempt>.log

// The JSON `repro task <file>` reads: {"v":1, "task_id", "run_id", "kind", "run_dir", "events",
// "depends_on", "spec"}.
nlohmann::json task_file_json(const std::string& project_dir, const TaskSpec& task);

struct RetryPolicy {
  // Attempts per task and per `repro run` (a rerun gives a failed task a fresh count). >= 1.
  int max_attempts = 3;
  // Delay before the second attempt; doubled for each further one, up to backoff_max_s. A
  // transient failure (out of memory, a GPU falling off the bus, a killed process) often clears
  // within tens of seconds; a task resumes from its last checkpoint, so waiting costs little.
  double backoff_s = 10;
  double backoff_max_s = 300;
  // Whether a task stopped at its timeout is launched again (it resumes from its checkpoint, so
  // each attempt makes progress). Off: the timeout bounds the task's total time.
  bool retry_timeouts = false;
};

enum class AttemptOutcome { kDone, kRetry, kFail, kCancelled };

struct AttemptVerdict {
  AttemptOutcome outcome = AttemptOutcome::kFail;
  std::string reason;  // "" for done; else "exit 2 (bad config)", "signal 9", "timeout after 60 s", "cancelled"
};

// The exit-code policy (docs/runner.md, "Exit codes and retries"): 0 done; 2, 3, 4 (config, I/O,
// data errors) and 5 (diverged) fail at once; 1 (internal error), 6 (stopped by a signal this
// orchestrator did not send), a killing signal and 129..255 (a shell's report of a killed child)
// are retried; a timeout fails unless `retry_timeouts`; a task the orchestrator cancelled is
// cancelled; any other code fails.
AttemptVerdict classify_attempt(const Finished& finished, bool retry_timeouts);

// What the CLI's progress display shows for a task; sent on launch, on every ingest that brought
// new records, and on every end of an attempt.
struct TaskProgress {
  std::string task_id;
  std::string kind;
  TaskState state = TaskState::kPending;
  int attempt = 0;                     // this `repro run`'s attempt number (1-based); 0 before launch
  std::optional<int64_t> step;         // highest step in the task's ingested metrics
  std::optional<int64_t> total_steps;  // spec "iterations" of a train task
  std::optional<double> eta_s;         // from the step rate seen during this attempt
  std::string message;                 // "launched (pid 123, gpus 0,1)", "exit 1: retry in 10 s", ...
};

struct OrchestratorOptions {
  std::string project_dir;   // runs go to <project_dir>/runs/<run_id>; must exist
  std::string repro_binary;  // argv[0] of every task: [repro_binary, "task", <task file>]
  RetryPolicy retry;
  double task_timeout_s = 0;      // per attempt; 0 = none
  double poll_interval_s = 0.5;   // between polls of the executor
  double ingest_interval_s = 5;   // between ingests of a running task's events
  // The slot a task asks for. Empty: the spec's integer "gpus" when it has one, else one GPU per
  // process (TaskSpec::processes) when the executor fits a 1-GPU request, else CPU processes.
  std::function<SlotRequest(const TaskSpec&)> slot_for;
  // Called from the loop's thread; must not throw.
  std::function<void(const TaskProgress&)> on_progress;
  // Stop requests so far (StopSignals::count()): 1 stops gracefully (SIGTERM to the tasks, which
  // checkpoint and exit; nothing new launches), 2 or more kills them. nullptr: never.
  const std::atomic<int>* stop_requests = nullptr;
  // Added to every task's environment (the orchestrator also sets REPRO_TASK_ID, REPRO_TASK_FILE,
  // REPRO_TASK_EVENTS, REPRO_RUN_DIR, REPRO_TASK_ATTEMPT).
  std::map<std::string, std::string> env;
  // Seconds a rerun waits for a task process left over from a killed orchestrator to exit after
  // SIGTERM, before SIGKILL.
  double orphan_grace_s = 30;
};

struct TaskOutcome {
  std::string task_id;
  std::string kind;
  TaskState state = TaskState::kPending;
  int attempts = 0;     // launched by this `repro run`
  bool skipped = false; // done before this `repro run` started
  std::string reason;   // why it failed or was cancelled
};

struct OrchestratorSummary {
  int done = 0;       // finished by this `repro run`
  int skipped = 0;    // done before it
  int failed = 0;     // including dependants of a failed task
  int cancelled = 0;  // stopped by a stop request or `repro cancel`, or never launched because of one
  bool interrupted = false;     // a stop request came
  std::vector<TaskOutcome> tasks;  // in plan order
  bool ok() const { return failed == 0 && cancelled == 0; }
};

// One line of a dry run: what `repro run` would do with a task.
struct DryRunLine {
  std::string task_id;
  std::string run_id;
  std::string kind;
  std::string action;  // "skip" (done), "launch" (dependencies done) or "wait" (after its dependencies)
  std::string state;   // the store's state, "new" when the store does not have the task
  SlotRequest slot;
  std::vector<std::string> depends_on;
  std::vector<std::string> argv;
};

class Orchestrator {
 public:
  // The store, executor and options outlive the Orchestrator.
  Orchestrator(Store& store, Executor& executor, OrchestratorOptions options);

  // Runs the plan to its end: every task done, failed or cancelled. Takes an exclusive lock on
  // <project_dir>/repro.lock for its duration (a second `repro run` in the same project throws
  // IoError naming the lock; the kernel drops the lock when this process dies, even by SIGKILL).
  // Idempotent: experiment, runs and tasks already in the store are reused, done tasks skipped,
  // tasks left `running` by a killed orchestrator recovered (docs/runner.md). Failed tasks are
  // summary rows, not exceptions. Once per loop it takes the store's waiting cancel requests
  // (`repro cancel`, cancel.h): the named runs' pending tasks are cancelled, their running attempts
  // stopped through Executor::cancel and ended `cancelled`; requests waiting before it took the
  // lock are expired. Throws IoError when the project directory or a task file
  // cannot be written, or the store fails.
  OrchestratorSummary run(const Plan& plan);

  // What run() would launch now; writes nothing. `store` may be null (no database yet).
  static std::vector<DryRunLine> dry_run(Store* store, const Executor& executor, const Plan& plan,
                                         const OrchestratorOptions& options);

 private:
  Store& store_;
  Executor& executor_;
  OrchestratorOptions options_;
};

// Stops a task process left over from a killed orchestrator, so that a relaunch never runs beside
// it: when `pid` is alive and its command line names `task_file`, SIGTERM to its process group,
// SIGKILL after `grace_s` (0: at once). Otherwise (gone, or the pid reused) nothing. Blocks up to
// grace_s.
void stop_leftover_task(pid_t pid, const std::string& task_file, double grace_s);

// Counts SIGINT, SIGTERM and SIGHUP while alive (at most one instance at a time); restores the
// previous handlers when destroyed. Give count() to OrchestratorOptions::stop_requests.
class StopSignals {
 public:
  StopSignals();
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;
  const std::atomic<int>* count() const;
};

}  // namespace repro::runner
