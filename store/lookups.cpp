#include "store/lookups.h"

#include <SQLiteCpp/Statement.h>

#include "base/util/errors.h"

namespace repro::runner {
namespace {

std::vector<std::string> first_column(SQLite::Statement& q) {
  std::vector<std::string> out;
  while (q.executeStep()) out.push_back(q.getColumn(0).getString());
  return out;
}

}  // namespace

std::optional<TaskState> task_state(Store& store, const std::string& task_id) {
  SQLite::Statement q(store.db(), "SELECT state FROM tasks WHERE task_id = ?1");
  q.bind(1, task_id);
  if (!q.executeStep()) return std::nullopt;
  return parse_task_state(q.getColumn(0).getString());
}

int task_attempts(Store& store, const std::string& task_id) {
  SQLite::Statement q(store.db(), "SELECT attempts FROM tasks WHERE task_id = ?1");
  q.bind(1, task_id);
  if (!q.executeStep()) throw IoError("no task '" + task_id + "' in " + store.path());
  return q.getColumn(0).getInt();
}

std::vector<TaskStateRow> task_states_of_run(Store& store, const std::string& run_id) {
  SQLite::Statement q(store.db(), "SELECT task_id, state FROM tasks WHERE run_id = ?1 ORDER BY rowid");
  q.bind(1, run_id);
  std::vector<TaskStateRow> out;
  while (q.executeStep()) out.push_back({q.getColumn(0).getString(), parse_task_state(q.getColumn(1).getString())});
  return out;
}

std::optional<std::string> stored_run_dir(Store& store, const std::string& run_id) {
  SQLite::Statement q(store.db(), "SELECT run_dir FROM runs WHERE run_id = ?1");
  q.bind(1, run_id);
  if (!q.executeStep()) return std::nullopt;
  return q.getColumn(0).getString();
}

bool experiment_exists(Store& store, const std::string& name) {
  SQLite::Statement q(store.db(), "SELECT count(*) FROM experiments WHERE name = ?1");
  q.bind(1, name);
  q.executeStep();
  return q.getColumn(0).getInt64() > 0;
}

std::vector<std::string> run_ids_of_experiment(Store& store, const std::string& experiment) {
  SQLite::Statement q(store.db(), "SELECT run_id FROM experiment_runs WHERE experiment = ?1 ORDER BY position, run_id");
  q.bind(1, experiment);
  return first_column(q);
}

std::vector<std::string> run_ids_starting_with(Store& store, const std::string& prefix, int limit) {
  SQLite::Statement q(store.db(),
                      "SELECT run_id FROM runs WHERE substr(run_id, 1, length(?1)) = ?1 "
                      "ORDER BY run_id != ?1, run_id LIMIT ?2");
  q.bind(1, prefix);
  q.bind(2, limit);
  return first_column(q);
}

}  // namespace repro::runner
