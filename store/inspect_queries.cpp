#include "store/inspect_queries.h"

#include <SQLiteCpp/Statement.h>

#include <utility>

#include "store/queries.h"

namespace repro::runner {
namespace {

// `er` is the experiment_runs row the expression qualifies.
std::string stale_expression(const Store& store) { return stale_run_sql(store, "er"); }

std::vector<std::string> first_column(SQLite::Statement& q) {
  std::vector<std::string> out;
  while (q.executeStep()) out.push_back(q.getColumn(0).getString());
  return out;
}

// The columns after run_id, position, axes, stale of the results queries below (rr: the run's row,
// kResultJoins).
std::string result_columns() {
  return R"sql(
    res.result_id, ifnull(res.task_id, ''), res.metric, res.value, res.recipe, ifnull(ts.task_id, ''),
    ifnull(ts.spec, '{}'), )sql" +
         released_run_sql("rr");
}
const char* const kResultJoins = R"sql(
    LEFT JOIN tasks te ON te.task_id = res.task_id
    LEFT JOIN tasks ts ON ts.task_id = json_extract(te.spec, '$.samples_of')
    LEFT JOIN runs rr ON rr.run_id = res.run_id
)sql";

std::vector<SettingResult> read_results(SQLite::Statement& q) {
  std::vector<SettingResult> out;
  while (q.executeStep()) {
    SettingResult r;
    r.run_id = q.getColumn(0).getString();
    r.position = q.getColumn(1).getInt64();
    r.axes = q.getColumn(2).getString();
    r.stale = q.getColumn(3).getInt() != 0;
    r.result_id = q.getColumn(4).getString();
    r.eval_task = q.getColumn(5).getString();
    r.metric = q.getColumn(6).getString();
    r.value = q.getColumn(7).getDouble();
    r.recipe = q.getColumn(8).getString();
    r.sample_task = q.getColumn(9).getString();
    r.sample_spec = q.getColumn(10).getString();
    r.released = q.getColumn(11).getInt() != 0;
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace

std::vector<std::string> task_ids_starting_with(Store& store, const std::string& prefix, int limit) {
  SQLite::Statement q(store.db(),
                      "SELECT task_id FROM tasks WHERE substr(task_id, 1, length(?1)) = ?1 "
                      "ORDER BY task_id != ?1, task_id LIMIT ?2");
  q.bind(1, prefix);
  q.bind(2, limit);
  return first_column(q);
}

std::optional<RunRecord> run_record(Store& store, const std::string& run_id) {
  SQLite::Statement q(store.db(), "SELECT run_id, config, run_dir, status, created, updated, " +
                                      released_run_sql("runs") + " FROM runs WHERE run_id = ?1");
  q.bind(1, run_id);
  if (!q.executeStep()) return std::nullopt;
  return RunRecord{q.getColumn(0).getString(),  q.getColumn(1).getString(), q.getColumn(2).getString(),
                   q.getColumn(3).getString(),  q.getColumn(4).getDouble(), q.getColumn(5).getDouble(),
                   q.getColumn(6).getInt() != 0};
}

std::optional<std::string> run_of_task(Store& store, const std::string& task_id) {
  SQLite::Statement q(store.db(), "SELECT run_id FROM tasks WHERE task_id = ?1");
  q.bind(1, task_id);
  if (!q.executeStep()) return std::nullopt;
  return q.getColumn(0).getString();
}

std::vector<RunMembership> memberships_of_run(Store& store, const std::string& run_id) {
  SQLite::Statement q(store.db(), "SELECT er.experiment, er.axes, er.position, " + stale_expression(store) +
                                      " FROM experiment_runs er WHERE er.run_id = ?1 ORDER BY er.experiment");
  q.bind(1, run_id);
  std::vector<RunMembership> out;
  while (q.executeStep())
    out.push_back({q.getColumn(0).getString(), q.getColumn(1).getString(), q.getColumn(2).getInt64(),
                   q.getColumn(3).getInt() != 0});
  return out;
}

std::vector<ProvenanceEntry> provenance_of_run(Store& store, const std::string& run_id) {
  SQLite::Statement q(store.db(), R"sql(
    SELECT ifnull(task_id, ''), key, value FROM provenance WHERE run_id = ?1
    ORDER BY ifnull(task_id, ''), key)sql");
  q.bind(1, run_id);
  std::vector<ProvenanceEntry> out;
  while (q.executeStep())
    out.push_back({q.getColumn(0).getString(), q.getColumn(1).getString(), q.getColumn(2).getString()});
  return out;
}

std::vector<ArtifactEntry> artifacts_of_run(Store& store, const std::string& run_id) {
  SQLite::Statement q(store.db(), R"sql(
    SELECT a.task_id, a.path, ifnull(a.sha256, ''), a.bytes
    FROM artifacts a JOIN tasks t ON t.task_id = a.task_id
    WHERE t.run_id = ?1 ORDER BY a.task_id, a.path)sql");
  q.bind(1, run_id);
  std::vector<ArtifactEntry> out;
  while (q.executeStep()) {
    ArtifactEntry a{q.getColumn(0).getString(), q.getColumn(1).getString(), q.getColumn(2).getString(), {}};
    if (!q.getColumn(3).isNull()) a.bytes = q.getColumn(3).getInt64();
    out.push_back(std::move(a));
  }
  return out;
}

std::vector<SettingResult> experiment_results(Store& store, const std::string& experiment, bool include_stale) {
  const std::string stale = stale_expression(store);
  SQLite::Statement q(
      store.db(), "SELECT * FROM (SELECT er.run_id, er.position, er.axes, " + stale + " AS stale, " + result_columns() +
                      " FROM experiment_runs er JOIN results res ON res.run_id = " + "er.run_id " + kResultJoins +
                      " WHERE er.experiment = ?1) WHERE ?2 OR NOT stale "
                      "ORDER BY position, result_id, metric");
  q.bind(1, experiment);
  q.bind(2, include_stale ? 1 : 0);
  return read_results(q);
}

std::vector<SettingResult> run_results(Store& store, const std::string& run_id) {
  SQLite::Statement q(store.db(), "SELECT res.run_id, 0, '{}', 0, " + result_columns() + " FROM results res " +
                                      kResultJoins + " WHERE res.run_id = ?1 ORDER BY res.result_id, res.metric");
  q.bind(1, run_id);
  return read_results(q);
}

std::vector<std::string> axes_of_experiment(Store& store, const std::string& experiment) {
  SQLite::Statement q(store.db(), "SELECT axes FROM experiment_runs WHERE experiment = ?1 ORDER BY position, run_id");
  q.bind(1, experiment);
  return first_column(q);
}

std::vector<std::string> stale_runs_of_experiment(Store& store, const std::string& experiment) {
  SQLite::Statement q(store.db(), "SELECT er.run_id FROM experiment_runs er WHERE er.experiment = ?1 AND " +
                                      stale_expression(store) + " ORDER BY er.run_id");
  q.bind(1, experiment);
  return first_column(q);
}

}  // namespace repro::runner
