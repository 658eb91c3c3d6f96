#pragma once
// The orchestration loop of `repro run`: records an experiment's runs and tasks in the store,
// launches each task whose dependencies are done through an Executor, ingests the tasks'
// events.jsonl while they run and after they end, retries failures that may be transient, and
// stops gracefully on request. Policy and file layout: docs/runner.md. The loop itself is
// RunLoop (run_loop.h).
#include <nlohmann/json.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "runner/executor/executor.h"
#include "runner/experiment/expand.h"
#include "runner/orchestrate/attempt_policy.h"
#include "runner/orchestrate/task_files.h"
#include "runner/plan/task_graph.h"
#include "store/records.h"
#include "store/store.h"
#include "store/task_state.h"

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
  // Every run id of the file's whole expansion, --only filters not applied (a superset of runs'),
  // each once: recorded as the experiment's current expansion, so that runs of earlier expansions
  // read as stale (docs/database.md, Stale runs).
  std::vector<std::string> expansion_run_ids;
  // Some cells could not be named (Expansion::unnamed): expansion_run_ids is then added to the
  // current expansion, and no run leaves it.
  bool expansion_partial = false;
};

// The plan of an expanded experiment file: runs in matrix order (cells sharing a run appear once,
// at their first position) and plan_tasks(expansion.runs, full's runs). `full`: the same file
// expanded without --only, whose run ids become expansion_run_ids and whose cells' sampled steps
// the planned runs' train tasks keep too; null when `expansion` is not filtered.
Plan make_plan(const ExperimentRow& experiment, const Expansion& expansion, const Expansion* full = nullptr);

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
  double task_timeout_s = 0;     // per attempt; 0 = none
  double poll_interval_s = 0.5;  // between polls of the executor
  double ingest_interval_s = 5;  // between ingests of a running task's events
  // The slot a task asks for. Empty: the spec's integer "gpus" when it has one, else one GPU per
  // process (TaskSpec::processes) when the executor fits a 1-GPU request, else CPU processes.
  std::function<SlotRequest(const TaskSpec&)> slot_for;
  // Called from the loop's thread; must not throw.
  std::function<void(const TaskProgress&)> on_progress;
  // Stop requests so far (StopSignals::count(), base/util/stop_signals.h): 1 stops gracefully
  // (SIGTERM to the tasks, which checkpoint and exit; nothing new launches), 2 or more kills
  // them. nullptr: never.
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
  int attempts = 0;      // launched by this `repro run`
  bool skipped = false;  // done before this `repro run` started
  std::string reason;    // why it failed or was cancelled
};

struct OrchestratorSummary {
  int done = 0;                    // finished by this `repro run`
  int skipped = 0;                 // done before it
  int failed = 0;                  // including dependants of a failed task
  int cancelled = 0;               // stopped by a stop request or `repro cancel`, or never launched because of one
  bool interrupted = false;        // a stop request came
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
  // Whether the executor can ever run the slot (Executor::fits, the rule run() fails a task by);
  // when not, unfit_reason says why and what to change.
  bool fits = true;
  std::string unfit_reason;
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

  // What run() would launch now, and whether each task fits the executor; writes nothing. `store`
  // may be null (no database yet).
  static std::vector<DryRunLine> dry_run(Store* store, const Executor& executor, const Plan& plan,
                                         const OrchestratorOptions& options);

 private:
  Store& store_;
  Executor& executor_;
  OrchestratorOptions options_;
};

}  // namespace repro::runner
