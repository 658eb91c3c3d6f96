#include "runner/store/queries.h"

#include <SQLiteCpp/Statement.h>

namespace repro::runner {
namespace {

std::string text_or_empty(const SQLite::Column& column) { return column.isNull() ? std::string() : column.getString(); }

std::optional<double> real_or_none(const SQLite::Column& column) {
  if (column.isNull()) return std::nullopt;
  return column.getDouble();
}

}  // namespace

std::vector<RunSummary> runs_of_experiment(Store& store, const std::string& experiment) {
  // One pass over experiment_runs (primary key order), each run's tasks through tasks_by_run,
  // which covers (run_id, state): no task row is read.
  SQLite::Statement st(store.db(),
                       "SELECT r.run_id, er.axes, er.position, r.run_dir, r.status, "
                       "  count(t.state), "
                       "  sum(t.state = 'pending'), sum(t.state = 'running'), sum(t.state = 'done'), "
                       "  sum(t.state = 'failed'), sum(t.state = 'cancelled') "
                       "FROM experiment_runs er "
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
  while (st.executeStep()) {
    AttemptRecord a;
    a.attempt = st.getColumn(0).getInt();
    a.executor = parse_executor_kind(st.getColumn(1).getString());
    a.job_id = text_or_empty(st.getColumn(2));
    a.host = text_or_empty(st.getColumn(3));
    a.gpus = text_or_empty(st.getColumn(4));
    a.started = real_or_none(st.getColumn(5));
    a.ended = real_or_none(st.getColumn(6));
    if (!st.getColumn(7).isNull()) a.exit_code = st.getColumn(7).getInt();
    a.log_path = text_or_empty(st.getColumn(8));
    a.reason = text_or_empty(st.getColumn(9));
    attempts.push_back(std::move(a));
  }
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

}  // namespace repro::runner
