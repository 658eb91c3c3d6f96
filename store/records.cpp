#include "store/records.h"

#include <SQLiteCpp/Statement.h>

#include "base/util/errors.h"
#include "store/transaction.h"

namespace repro::runner {
namespace {

void bind_text_or_null(SQLite::Statement& st, int index, const std::string& text) {
  if (text.empty()) {
    st.bind(index);
  } else {
    st.bind(index, text);
  }
}

}  // namespace

void put_experiment(Store& store, const ExperimentRow& row) {
  SQLite::Statement st(
      store.db(),
      "INSERT INTO experiments (name, file, file_sha256, created, updated) VALUES (?1, ?2, ?3, ?4, ?4) "
      "ON CONFLICT (name) DO UPDATE SET file = excluded.file, file_sha256 = excluded.file_sha256, "
      "updated = excluded.updated "
      "WHERE file != excluded.file OR file_sha256 != excluded.file_sha256");
  st.bind(1, row.name);
  st.bind(2, row.file);
  st.bind(3, row.file_sha256);
  st.bind(4, store.now());
  st.exec();
}

void put_run(Store& store, const RunRow& row) {
  WriteTransaction tx(store);
  const double now = store.now();
  SQLite::Statement run(store.db(),
                        "INSERT INTO runs (run_id, config, run_dir, created, updated) VALUES (?1, ?2, ?3, ?4, ?4) "
                        "ON CONFLICT (run_id) DO NOTHING");
  run.bind(1, row.run_id);
  run.bind(2, row.config);
  run.bind(3, row.run_dir);
  run.bind(4, now);
  run.exec();
  SQLite::Statement link(store.db(),
                         "INSERT INTO experiment_runs (experiment, run_id, axes, position) VALUES (?1, ?2, ?3, ?4) "
                         "ON CONFLICT (experiment, run_id) DO UPDATE SET axes = excluded.axes, "
                         "position = excluded.position");
  link.bind(1, row.experiment);
  link.bind(2, row.run_id);
  link.bind(3, row.axes);
  link.bind(4, row.position);
  link.exec();
  tx.commit();
}

void set_run_status(Store& store, const std::string& run_id, TaskState status) {
  SQLite::Statement st(store.db(), "UPDATE runs SET status = ?1, updated = ?2 WHERE run_id = ?3");
  st.bind(1, to_string(status));
  st.bind(2, store.now());
  st.bind(3, run_id);
  if (st.exec() == 0) throw IoError("no run '" + run_id + "' in " + store.path());
}

void set_current_expansion(Store& store, const std::string& experiment, const std::vector<std::string>& run_ids) {
  WriteTransaction tx(store);
  SQLite::Statement erase(store.db(), "DELETE FROM current_expansion WHERE experiment = ?1");
  erase.bind(1, experiment);
  erase.exec();
  add_to_current_expansion(store, experiment, run_ids);
  tx.commit();
}

void add_to_current_expansion(Store& store, const std::string& experiment, const std::vector<std::string>& run_ids) {
  WriteTransaction tx(store);
  SQLite::Statement insert(store.db(), "INSERT OR IGNORE INTO current_expansion (experiment, run_id) VALUES (?1, ?2)");
  for (const auto& id : run_ids) {
    insert.bind(1, experiment);
    insert.bind(2, id);
    insert.exec();
    insert.reset();
  }
  tx.commit();
}

void put_task(Store& store, const TaskRow& row) {
  SQLite::Statement st(
      store.db(),
      "INSERT INTO tasks (task_id, run_id, kind, spec, created, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?5) "
      "ON CONFLICT (task_id) DO UPDATE SET spec = excluded.spec WHERE tasks.spec <> excluded.spec");
  st.bind(1, row.task_id);
  st.bind(2, row.run_id);
  st.bind(3, to_string(row.kind));
  st.bind(4, row.spec);
  st.bind(5, store.now());
  st.exec();
}

void set_task_state(Store& store, const std::string& task_id, TaskState state) {
  SQLite::Statement st(store.db(), "UPDATE tasks SET state = ?1, updated = ?2 WHERE task_id = ?3");
  st.bind(1, to_string(state));
  st.bind(2, store.now());
  st.bind(3, task_id);
  if (st.exec() == 0) throw IoError("no task '" + task_id + "' in " + store.path());
}

int begin_attempt(Store& store, const AttemptStart& start) {
  WriteTransaction tx(store);
  const double now = store.now();
  SQLite::Statement bump(store.db(),
                         "UPDATE tasks SET attempts = attempts + 1, state = 'running', updated = ?1 WHERE task_id = ?2 "
                         "RETURNING attempts");
  bump.bind(1, now);
  bump.bind(2, start.task_id);
  if (!bump.executeStep()) throw IoError("no task '" + start.task_id + "' in " + store.path());
  const int attempt = bump.getColumn(0).getInt();
  bump.reset();
  SQLite::Statement st(store.db(),
                       "INSERT INTO attempts (task_id, attempt, executor, job_id, host, gpus, started, log_path) "
                       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
  st.bind(1, start.task_id);
  st.bind(2, attempt);
  st.bind(3, to_string(start.executor));
  bind_text_or_null(st, 4, start.job_id);
  bind_text_or_null(st, 5, start.host);
  st.bind(6, start.gpus);
  st.bind(7, start.started.value_or(now));
  bind_text_or_null(st, 8, start.log_path);
  st.exec();
  tx.commit();
  return attempt;
}

void end_attempt(Store& store, const std::string& task_id, int attempt, const AttemptEnd& end) {
  SQLite::Statement st(
      store.db(), "UPDATE attempts SET ended = ?1, exit_code = ?2, reason = ?3 WHERE task_id = ?4 AND attempt = ?5");
  st.bind(1, end.ended.value_or(store.now()));
  if (end.exit_code) {
    st.bind(2, *end.exit_code);
  } else {
    st.bind(2);
  }
  bind_text_or_null(st, 3, end.reason);
  st.bind(4, task_id);
  st.bind(5, attempt);
  if (st.exec() == 0) {
    throw IoError("no attempt " + std::to_string(attempt) + " of task '" + task_id + "' in " + store.path());
  }
}

void put_result(Store& store, const ResultRow& row) {
  SQLite::Statement st(store.db(),
                       "INSERT OR REPLACE INTO results (result_id, run_id, task_id, metric, value, recipe, created) "
                       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  st.bind(1, row.result_id);
  st.bind(2, row.run_id);
  bind_text_or_null(st, 3, row.task_id);
  st.bind(4, row.metric);
  st.bind(5, row.value);
  st.bind(6, row.recipe);
  st.bind(7, store.now());
  st.exec();
}

void put_artifact(Store& store, const ArtifactRow& row) {
  SQLite::Statement st(
      store.db(),
      "INSERT OR REPLACE INTO artifacts (task_id, path, sha256, bytes, created) VALUES (?1, ?2, ?3, ?4, ?5)");
  st.bind(1, row.task_id);
  st.bind(2, row.path);
  bind_text_or_null(st, 3, row.sha256);
  if (row.bytes) {
    st.bind(4, *row.bytes);
  } else {
    st.bind(4);
  }
  st.bind(5, store.now());
  st.exec();
}

void put_provenance(Store& store, const std::string& run_id, const std::string& task_id,
                    const std::map<std::string, std::string>& entries) {
  WriteTransaction tx(store);
  // The unique index is on ifnull(task_id, ''): an upsert cannot name it, so delete and insert.
  SQLite::Statement erase(store.db(),
                          "DELETE FROM provenance WHERE run_id = ?1 AND ifnull(task_id, '') = ?2 AND key = ?3");
  SQLite::Statement insert(
      store.db(), "INSERT INTO provenance (run_id, task_id, key, value, recorded) VALUES (?1, ?2, ?3, ?4, ?5)");
  const double now = store.now();
  for (const auto& [key, value] : entries) {
    erase.bind(1, run_id);
    erase.bind(2, task_id);
    erase.bind(3, key);
    erase.exec();
    erase.reset();
    insert.bind(1, run_id);
    bind_text_or_null(insert, 2, task_id);
    insert.bind(3, key);
    insert.bind(4, value);
    insert.bind(5, now);
    insert.exec();
    insert.reset();
  }
  tx.commit();
}

}  // namespace repro::runner
