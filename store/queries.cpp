#include "store/queries.h"

#include <SQLiteCpp/Statement.h>

#include <algorithm>
#include <string_view>
#include <unordered_map>

namespace repro::runner {
namespace {

std::string text_or_empty(const SQLite::Column& column) { return column.isNull() ? std::string() : column.getString(); }

std::optional<double> real_or_none(const SQLite::Column& column) {
  if (column.isNull()) return std::nullopt;
  return column.getDouble();
}

// The ten attempt columns (attempt, executor, job_id, host, gpus, started, ended, exit_code,
// log_path, reason) of a row, starting at column `first`.
AttemptRecord read_attempt(SQLite::Statement& st, int first) {
  AttemptRecord a;
  a.attempt = st.getColumn(first).getInt();
  a.executor = parse_executor_kind(st.getColumn(first + 1).getString());
  a.job_id = text_or_empty(st.getColumn(first + 2));
  a.host = text_or_empty(st.getColumn(first + 3));
  a.gpus = text_or_empty(st.getColumn(first + 4));
  a.started = real_or_none(st.getColumn(first + 5));
  a.ended = real_or_none(st.getColumn(first + 6));
  if (!st.getColumn(first + 7).isNull()) a.exit_code = st.getColumn(first + 7).getInt();
  a.log_path = text_or_empty(st.getColumn(first + 8));
  a.reason = text_or_empty(st.getColumn(first + 9));
  return a;
}

}  // namespace

std::string stale_run_sql(const Store& store, const std::string& link) {
  if (store.schema_version() < 5) return "0";
  return "(EXISTS (SELECT 1 FROM current_expansion ce WHERE ce.experiment = " + link +
         ".experiment) AND NOT EXISTS (SELECT 1 FROM current_expansion ce WHERE ce.experiment = " + link +
         ".experiment AND ce.run_id = " + link + ".run_id))";
}

std::string released_run_sql(const std::string& run) {
  return "(json_type(" + run + ".config, '$.checkpoint') IS NOT NULL)";  // config is valid JSON (schema)
}

std::vector<std::string> experiment_names(Store& store) {
  SQLite::Statement st(store.db(), "SELECT name FROM experiments ORDER BY created");
  std::vector<std::string> names;
  while (st.executeStep()) names.push_back(st.getColumn(0).getString());
  return names;
}

std::vector<RunSummary> runs_of_experiment(Store& store, const std::string& experiment) {
  // One pass over experiment_runs (primary key order), each run's tasks through tasks_by_run,
  // which covers (run_id, state): no task row is read.
  SQLite::Statement st(store.db(),
                       "SELECT r.run_id, er.axes, er.position, r.run_dir, r.status, "
                       "  count(t.state), "
                       "  sum(t.state = 'pending'), sum(t.state = 'running'), sum(t.state = 'done'), "
                       "  sum(t.state = 'failed'), sum(t.state = 'cancelled'), " +
                           stale_run_sql(store, "er") +
                           " FROM experiment_runs er "
                           "JOIN runs r ON r.run_id = er.run_id "
                           "LEFT JOIN tasks t ON t.run_id = er.run_id "
                           "WHERE er.experiment = ?1 "
                           "GROUP BY er.run_id "
                           "ORDER BY er.position, er.run_id");
  st.bind(1, experiment);
  std::vector<RunSummary> runs;
  while (st.executeStep()) {
    RunSummary run;
    run.run_id = st.getColumn(0).getString();
    run.axes = st.getColumn(1).getString();
    run.position = st.getColumn(2).getInt64();
    run.run_dir = st.getColumn(3).getString();
    run.status = parse_task_state(st.getColumn(4).getString());
    run.tasks.pending = st.getColumn(6).getInt64();  // sum() of no rows is NULL: getInt64 gives 0
    run.tasks.running = st.getColumn(7).getInt64();
    run.tasks.done = st.getColumn(8).getInt64();
    run.tasks.failed = st.getColumn(9).getInt64();
    run.tasks.cancelled = st.getColumn(10).getInt64();
    run.stale = st.getColumn(11).getInt() != 0;
    runs.push_back(std::move(run));
  }
  return runs;
}

std::vector<TaskSummary> tasks_of_run(Store& store, const std::string& run_id) {
  SQLite::Statement st(store.db(),
                       "SELECT task_id, kind, state, attempts, spec, created, updated FROM tasks "
                       "WHERE run_id = ?1 ORDER BY rowid");
  st.bind(1, run_id);
  std::vector<TaskSummary> tasks;
  while (st.executeStep()) {
    TaskSummary task;
    task.task_id = st.getColumn(0).getString();
    task.kind = parse_task_kind(st.getColumn(1).getString());
    task.state = parse_task_state(st.getColumn(2).getString());
    task.attempts = st.getColumn(3).getInt();
    task.spec = st.getColumn(4).getString();
    task.created = st.getColumn(5).getDouble();
    task.updated = st.getColumn(6).getDouble();
    tasks.push_back(std::move(task));
  }
  return tasks;
}

std::vector<MetricPoint> latest_metrics(Store& store, const std::string& task_id) {
  // SQLite takes the bare column `value` from the row where max(step) is found.
  SQLite::Statement st(store.db(),
                       "SELECT name, max(step), value FROM metrics WHERE task_id = ?1 GROUP BY name ORDER BY name");
  st.bind(1, task_id);
  std::vector<MetricPoint> points;
  while (st.executeStep()) {
    points.push_back({st.getColumn(0).getString(), st.getColumn(1).getInt64(), st.getColumn(2).getDouble()});
  }
  return points;
}

std::vector<MetricPoint> metric_curve(Store& store, const std::string& task_id, const std::string& name) {
  SQLite::Statement st(store.db(),
                       "SELECT name, step, value FROM metrics WHERE task_id = ?1 AND name = ?2 ORDER BY step");
  st.bind(1, task_id);
  st.bind(2, name);
  std::vector<MetricPoint> points;
  while (st.executeStep()) {
    points.push_back({st.getColumn(0).getString(), st.getColumn(1).getInt64(), st.getColumn(2).getDouble()});
  }
  return points;
}

std::vector<StoredResult> results_of_run(Store& store, const std::string& run_id) {
  SQLite::Statement st(store.db(),
                       "SELECT result_id, run_id, task_id, metric, value, recipe, created FROM results "
                       "WHERE run_id = ?1 ORDER BY result_id, metric");
  st.bind(1, run_id);
  std::vector<StoredResult> results;
  while (st.executeStep()) {
    StoredResult r;
    r.row.result_id = st.getColumn(0).getString();
    r.row.run_id = st.getColumn(1).getString();
    r.row.task_id = text_or_empty(st.getColumn(2));
    r.row.metric = st.getColumn(3).getString();
    r.row.value = st.getColumn(4).getDouble();
    r.row.recipe = st.getColumn(5).getString();
    r.created = st.getColumn(6).getDouble();
    results.push_back(std::move(r));
  }
  return results;
}

std::vector<AttemptRecord> attempts_of_task(Store& store, const std::string& task_id) {
  SQLite::Statement st(store.db(),
                       "SELECT attempt, executor, job_id, host, gpus, started, ended, exit_code, log_path, reason "
                       "FROM attempts WHERE task_id = ?1 ORDER BY attempt");
  st.bind(1, task_id);
  std::vector<AttemptRecord> attempts;
  while (st.executeStep()) attempts.push_back(read_attempt(st, 0));
  return attempts;
}

std::vector<TaskEvent> events_of_task(Store& store, const std::string& task_id) {
  SQLite::Statement st(store.db(),
                       "SELECT seq, type, step, time, record FROM task_events WHERE task_id = ?1 ORDER BY seq");
  st.bind(1, task_id);
  std::vector<TaskEvent> events;
  while (st.executeStep()) {
    TaskEvent e;
    e.seq = st.getColumn(0).getInt64();
    e.type = st.getColumn(1).getString();
    if (!st.getColumn(2).isNull()) e.step = st.getColumn(2).getInt64();
    e.time = real_or_none(st.getColumn(3));
    e.record = st.getColumn(4).getString();
    events.push_back(std::move(e));
  }
  return events;
}

std::vector<std::string> ingest_errors_of_task(Store& store, const std::string& task_id) {
  SQLite::Statement st(store.db(), "SELECT message FROM ingest_errors WHERE task_id = ?1 ORDER BY file, line");
  st.bind(1, task_id);
  std::vector<std::string> messages;
  while (st.executeStep()) messages.push_back(st.getColumn(0).getString());
  return messages;
}

namespace {

std::string_view text_view(const SQLite::Column& c) { return {c.getText(), static_cast<size_t>(c.getBytes())}; }

void count_state(TaskCounts& counts, TaskState state) {
  switch (state) {
    case TaskState::kPending:
      ++counts.pending;
      break;
    case TaskState::kRunning:
      ++counts.running;
      break;
    case TaskState::kDone:
      ++counts.done;
      break;
    case TaskState::kFailed:
      ++counts.failed;
      break;
    case TaskState::kCancelled:
      ++counts.cancelled;
      break;
  }
}

// status_of_experiment's four reads, each one statement over the experiment's runs, filling `out`.
class StatusReader {
 public:
  StatusReader(Store& store, const std::string& experiment) : store_(store), experiment_(experiment) {}

  // The runs through runs_status, which holds status and run_dir (the planner would rather read
  // the runs' rows, configs and all).
  void read_runs() {
    SQLite::Statement runs(
        store_.db(), "SELECT r.run_id, er.axes, er.position, r.run_dir, r.status, " + stale_run_sql(store_, "er") +
                         " FROM experiment_runs er JOIN runs r INDEXED BY runs_status ON r.run_id = er.run_id "
                         "WHERE er.experiment = ?1 ORDER BY er.position, er.run_id");
    runs.bind(1, experiment_);
    while (runs.executeStep()) {
      RunStatus r;
      r.run.run_id = runs.getColumn(0).getString();
      r.run.axes = runs.getColumn(1).getString();
      r.run.position = runs.getColumn(2).getInt64();
      r.run.run_dir = runs.getColumn(3).getString();
      r.run.status = parse_task_state(runs.getColumn(4).getString());
      r.run.stale = runs.getColumn(5).getInt() != 0;
      out_.push_back(std::move(r));
    }
    for (size_t i = 0; i < out_.size(); ++i) run_index_.emplace(out_[i].run.run_id, i);
  }

  // The tasks through tasks_by_run, which holds every column read here (not the spec), a run's
  // tasks after each other; each train task's latest loss by one probe of metrics' primary key
  // (task_id, name, step). Only the trainer writes a "loss" metric (docs/events.md): sample and
  // eval tasks are not probed.
  void read_tasks() {
    SQLite::Statement tasks(
        store_.db(),
        "SELECT t.run_id, t.rowid, t.task_id, t.kind, t.state, t.attempts, m.step, m.value "
        "FROM experiment_runs er "
        "JOIN tasks t ON t.run_id = er.run_id "
        "LEFT JOIN metrics m ON t.kind = 'train' AND m.task_id = t.task_id AND m.name = 'loss' "
        "  AND m.step = (SELECT max(step) FROM metrics WHERE task_id = t.task_id AND name = 'loss') "
        "WHERE er.experiment = ?1");
    tasks.bind(1, experiment_);
    rowids_.assign(out_.size(), {});
    RunStatus* run = nullptr;
    size_t per_run = 0;  // tasks of the previous run: room for as many in the next
    while (tasks.executeStep()) {
      const SQLite::Column run_id = tasks.getColumn(0);
      if (!run || run->run.run_id != text_view(run_id)) {
        if (run) per_run = run->tasks.size();
        run = run_of(run_id);
        if (run) run->tasks.reserve(per_run), rowids_[static_cast<size_t>(run - out_.data())].reserve(per_run);
      }
      if (!run) continue;
      TaskStatus t;
      t.task_id = tasks.getColumn(2).getString();
      t.kind = parse_task_kind(tasks.getColumn(3).getString());
      t.state = parse_task_state(tasks.getColumn(4).getString());
      t.attempts = tasks.getColumn(5).getInt();
      if (!tasks.getColumn(6).isNull())
        t.loss = TaskStatus::Loss{tasks.getColumn(6).getInt64(), tasks.getColumn(7).getDouble()};
      count_state(run->run.tasks, t.state);
      run->tasks.push_back(std::move(t));
      rowids_[static_cast<size_t>(run - out_.data())].push_back(tasks.getColumn(1).getInt64());
    }
  }

  // Each run's tasks in the order they were put (rowid), as tasks_of_run lists them.
  void sort_tasks_as_put() {
    for (size_t r = 0; r < out_.size(); ++r) {
      auto& list = out_[r].tasks;
      const auto& ids = rowids_[r];
      if (std::is_sorted(ids.begin(), ids.end())) continue;
      std::vector<size_t> order(list.size());
      for (size_t i = 0; i < order.size(); ++i) order[i] = i;
      std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return ids[a] < ids[b]; });
      std::vector<TaskStatus> sorted;
      sorted.reserve(order.size());
      for (size_t i : order) sorted.push_back(std::move(list[i]));
      list = std::move(sorted);
    }
  }

  // Results, a run's shown at its own tasks (as results_of_run), in (result_id, metric) order:
  // results_by_run holds every column read here, in that order within a run.
  void read_results() {
    SQLite::Statement results(store_.db(),
                              "SELECT r.run_id, r.task_id, r.metric, r.value FROM experiment_runs er "
                              "JOIN results r INDEXED BY results_by_run ON r.run_id = er.run_id "
                              "WHERE er.experiment = ?1 AND r.task_id IS NOT NULL "
                              "ORDER BY er.run_id, r.result_id, r.metric");
    results.bind(1, experiment_);
    while (results.executeStep()) {
      TaskStatus* t = task_of(results.getColumn(0), results.getColumn(1));
      if (t) t->results.emplace_back(results.getColumn(2).getString(), results.getColumn(3).getDouble());
    }
  }

  // The latest attempt of each failed task.
  void read_failed_attempts() {
    SQLite::Statement failed(store_.db(),
                             "SELECT t.run_id, t.task_id, a.attempt, a.log_path, a.reason FROM experiment_runs er "
                             "JOIN tasks t ON t.run_id = er.run_id AND t.state = 'failed' "
                             "JOIN attempts a ON a.task_id = t.task_id AND a.attempt = "
                             "  (SELECT max(attempt) FROM attempts WHERE task_id = t.task_id) "
                             "WHERE er.experiment = ?1");
    failed.bind(1, experiment_);
    while (failed.executeStep()) {
      TaskStatus* t = task_of(failed.getColumn(0), failed.getColumn(1));
      if (!t) continue;
      t->last_failed = TaskStatus::Attempt{failed.getColumn(2).getInt(), text_or_empty(failed.getColumn(4)),
                                           text_or_empty(failed.getColumn(3))};
    }
  }

  std::vector<RunStatus> take() { return std::move(out_); }
  bool empty() const { return out_.empty(); }

 private:
  RunStatus* run_of(const SQLite::Column& run_id) {
    auto it = run_index_.find(text_view(run_id));
    return it == run_index_.end() ? nullptr : &out_[it->second];
  }

  TaskStatus* task_of(const SQLite::Column& run_id, const SQLite::Column& task_id) {
    RunStatus* run = run_of(run_id);
    if (!run) return nullptr;
    const std::string_view id = text_view(task_id);
    for (auto& t : run->tasks)
      if (t.task_id == id) return &t;
    return nullptr;
  }

  Store& store_;
  const std::string& experiment_;
  std::vector<RunStatus> out_;
  std::unordered_map<std::string_view, size_t> run_index_;  // views of out_'s run ids
  std::vector<std::vector<int64_t>> rowids_;                // per run, its tasks' rowids
};

}  // namespace

std::vector<RunStatus> status_of_experiment(Store& store, const std::string& experiment) {
  StatusReader reader(store, experiment);
  reader.read_runs();
  if (reader.empty()) return reader.take();
  reader.read_tasks();
  reader.sort_tasks_as_put();
  reader.read_results();
  reader.read_failed_attempts();
  return reader.take();
}

std::vector<TaskLog> task_logs(Store& store, const std::string& id, int attempt) {
  SQLite::Statement is_task(store.db(), "SELECT count(*) FROM tasks WHERE task_id = ?1");
  is_task.bind(1, id);
  is_task.executeStep();
  const bool task = is_task.getColumn(0).getInt64() > 0;
  // The latest attempt is the highest number, not tasks.attempts: attempt rows are never renumbered.
  SQLite::Statement st(store.db(),
                       std::string("SELECT t.task_id, t.run_id, t.kind, t.state, t.attempts, "
                                   "  a.attempt, a.executor, a.job_id, a.host, a.gpus, a.started, a.ended, "
                                   "  a.exit_code, a.log_path, a.reason "
                                   "FROM tasks t LEFT JOIN attempts a ON a.task_id = t.task_id AND a.attempt = "
                                   "  CASE WHEN ?2 > 0 THEN ?2 "
                                   "  ELSE (SELECT max(attempt) FROM attempts WHERE task_id = t.task_id) END ") +
                           (task ? "WHERE t.task_id = ?1" : "WHERE t.run_id = ?1 ORDER BY t.rowid"));
  st.bind(1, id);
  st.bind(2, attempt);
  std::vector<TaskLog> logs;
  while (st.executeStep()) {
    TaskLog l;
    l.task_id = st.getColumn(0).getString();
    l.run_id = st.getColumn(1).getString();
    l.kind = parse_task_kind(st.getColumn(2).getString());
    l.state = parse_task_state(st.getColumn(3).getString());
    l.attempts = st.getColumn(4).getInt();
    if (!st.getColumn(5).isNull()) l.attempt = read_attempt(st, 5);
    logs.push_back(std::move(l));
  }
  return logs;
}

}  // namespace repro::runner
