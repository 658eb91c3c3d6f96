#pragma once
// Reading the store for `repro status`, `repro logs` and `repro report`. Each function is one
// SQL query (a consistent snapshot under WAL, never blocked by the writer).
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "store/records.h"
#include "store/store.h"
#include "store/task_state.h"

namespace repro::runner {

// Number of tasks in each state.
struct TaskCounts {
  int64_t pending = 0;
  int64_t running = 0;
  int64_t done = 0;
  int64_t failed = 0;
  int64_t cancelled = 0;
  int64_t total() const { return pending + running + done + failed + cancelled; }
};

struct RunSummary {
  std::string run_id;
  std::string axes;  // JSON, as put_run stored it
  int64_t position = 0;
  std::string run_dir;
  TaskState status = TaskState::kPending;
  TaskCounts tasks;
  bool stale = false;  // of an earlier expansion of the experiment (docs/database.md, Stale runs)
};

// For the store's own queries: an SQL expression that is 1 when the experiment_runs row aliased
// `link` is a stale run, else 0. A run is stale when its experiment lists a current expansion
// (schema version 5) and the run is not in it; an experiment that lists none (its runs were put
// by something other than `repro run`), and every run of a store older than version 5, is current.
std::string stale_run_sql(const Store& store, const std::string& link);

// For the store's own queries: an SQL expression that is 1 when the runs row aliased `run` is a
// run from a checkpoint file (its config, the run's identity, has a "checkpoint" member: a
// released checkpoint, docs/experiments.md), else 0 (a NULL row, from a LEFT JOIN, too).
std::string released_run_sql(const std::string& run);

// The experiments' names, oldest first (created).
std::vector<std::string> experiment_names(Store& store);

// The runs of an experiment in matrix order (position), each with its tasks counted by state,
// stale runs (of earlier expansions) included and flagged. Empty when the experiment has no runs or does not exist.
std::vector<RunSummary> runs_of_experiment(Store& store, const std::string& experiment);

struct TaskSummary {
  std::string task_id;
  TaskKind kind = TaskKind::kTrain;
  TaskState state = TaskState::kPending;
  int attempts = 0;
  std::string spec;  // JSON
  double created = 0;
  double updated = 0;
};

// The tasks of a run, in the order they were put.
std::vector<TaskSummary> tasks_of_run(Store& store, const std::string& run_id);

struct MetricPoint {
  std::string name;
  int64_t step = 0;
  double value = 0;
};

// For each metric name of the task, the value at its highest step; sorted by name.
std::vector<MetricPoint> latest_metrics(Store& store, const std::string& task_id);

// One metric's curve: (step, value) in step order.
std::vector<MetricPoint> metric_curve(Store& store, const std::string& task_id, const std::string& name);

struct StoredResult {
  ResultRow row;
  double created = 0;
};

// The results of a run, sorted by result id then metric.
std::vector<StoredResult> results_of_run(Store& store, const std::string& run_id);

struct AttemptRecord {
  int attempt = 0;
  ExecutorKind executor = ExecutorKind::kLocal;
  std::string job_id;  // "" when none was recorded
  std::string host;
  std::string gpus;
  std::optional<double> started;
  std::optional<double> ended;  // empty while running (or lost)
  std::optional<int> exit_code;
  std::string log_path;
  std::string reason;
};

// A task's attempts, oldest first.
std::vector<AttemptRecord> attempts_of_task(Store& store, const std::string& task_id);

struct TaskEvent {
  int64_t seq = 0;
  std::string type;  // start, checkpoint, warning, diverged, end, ...
  std::optional<int64_t> step;
  std::optional<double> time;
  std::string record;  // the whole JSON line
};

// The non-log records ingested for a task, in seq order.
std::vector<TaskEvent> events_of_task(Store& store, const std::string& task_id);

// The messages of lines ingest skipped for a task ("FILE:LINE: what"), in file and line order.
std::vector<std::string> ingest_errors_of_task(Store& store, const std::string& task_id);

// What `repro status` shows of one task.
struct TaskStatus {
  std::string task_id;
  TaskKind kind = TaskKind::kTrain;
  TaskState state = TaskState::kPending;
  int attempts = 0;
  struct Loss {
    int64_t step = 0;
    double value = 0;
  };
  std::optional<Loss> loss;                             // the "loss" metric at its highest step, when it has one
  std::vector<std::pair<std::string, double>> results;  // (metric, value) in result id, metric order
  struct Attempt {
    int attempt = 0;
    std::string reason;
    std::string log_path;
  };
  std::optional<Attempt> last_failed;  // failed tasks: their latest attempt, when they have one
};

struct RunStatus {
  RunSummary run;
  std::vector<TaskStatus> tasks;  // in the order they were put
};

// Everything `repro status` shows of an experiment, in four queries whatever its size: the runs
// (as runs_of_experiment, tasks counted by state), their tasks with each train task's latest
// loss, their results, and the latest attempt of their failed tasks. Stale runs are included
// and flagged (RunSummary::stale). Empty when the experiment
// has no runs or does not exist.
std::vector<RunStatus> status_of_experiment(Store& store, const std::string& experiment);

// One task as `repro logs` shows it: the task and the attempt whose log to print.
struct TaskLog {
  std::string task_id;
  std::string run_id;
  TaskKind kind = TaskKind::kTrain;
  TaskState state = TaskState::kPending;
  int attempts = 0;                      // attempts begun so far
  std::optional<AttemptRecord> attempt;  // the chosen attempt; empty when the task has not got it
};

// `id` as a task id, else as a run id (every task of the run, in the order they were put), each
// with its latest attempt, or with attempt number `attempt` when it is > 0. Empty when `id` names
// neither a task nor a run with tasks.
std::vector<TaskLog> task_logs(Store& store, const std::string& id, int attempt = 0);

}  // namespace repro::runner
