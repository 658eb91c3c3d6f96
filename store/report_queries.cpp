#include "store/report_queries.h"

#include <SQLiteCpp/Statement.h>

#include <utility>

namespace repro::runner {

std::vector<ExperimentRow> experiment_rows(Store& store) {
  SQLite::Statement q(store.db(), "SELECT name, file, file_sha256 FROM experiments ORDER BY created, name");
  std::vector<ExperimentRow> out;
  while (q.executeStep())
    out.push_back({q.getColumn(0).getString(), q.getColumn(1).getString(), q.getColumn(2).getString()});
  return out;
}

std::vector<MetricPoint> train_loss_of_run(Store& store, const std::string& run_id) {
  SQLite::Statement q(store.db(), R"sql(
    SELECT m.name, m.step, m.value FROM metrics m JOIN tasks t ON t.task_id = m.task_id
    WHERE t.run_id = ?1 AND t.kind = 'train' AND m.name = 'loss' ORDER BY m.step, m.seq)sql");
  q.bind(1, run_id);
  std::vector<MetricPoint> out;
  while (q.executeStep())
    out.push_back({q.getColumn(0).getString(), q.getColumn(1).getInt64(), q.getColumn(2).getDouble()});
  return out;
}

std::vector<ReportRun> report_runs(Store& store, const std::string& experiment) {
  const std::string sql = R"sql(
    SELECT er.run_id, er.position, er.axes, ifnull(json_extract(r.config, '$.train.seed'), ''), r.config,
           r.created, )sql" +
                          stale_run_sql(store, "er") + R"sql(
    FROM experiment_runs er JOIN runs r ON r.run_id = er.run_id
    WHERE er.experiment = ?1 ORDER BY er.position)sql";
  SQLite::Statement q(store.db(), sql);
  q.bind(1, experiment);
  std::vector<ReportRun> out;
  while (q.executeStep())
    out.push_back({q.getColumn(0).getString(), q.getColumn(1).getInt64(), q.getColumn(2).getString(),
                   q.getColumn(3).getString(), q.getColumn(4).getString(), q.getColumn(5).getDouble(),
                   q.getColumn(6).getInt() != 0});
  return out;
}

std::vector<ProvenanceRecord> provenance_of_experiment(Store& store, const std::string& experiment) {
  SQLite::Statement q(store.db(), R"sql(
    SELECT p.run_id, ifnull(p.task_id, ''), ifnull(t.kind, ''), p.key, p.value
    FROM provenance p LEFT JOIN tasks t ON t.task_id = p.task_id
    WHERE p.run_id IN (SELECT run_id FROM experiment_runs WHERE experiment = ?1)
    ORDER BY p.run_id, ifnull(p.task_id, ''), p.key)sql");
  q.bind(1, experiment);
  std::vector<ProvenanceRecord> out;
  while (q.executeStep())
    out.push_back({q.getColumn(0).getString(), q.getColumn(1).getString(), q.getColumn(2).getString(),
                   q.getColumn(3).getString(), q.getColumn(4).getString()});
  return out;
}

std::vector<AttemptSpan> finished_attempts_of_experiment(Store& store, const std::string& experiment) {
  SQLite::Statement q(store.db(), R"sql(
    SELECT t.run_id, a.started, a.ended, ifnull(a.gpus, '')
    FROM attempts a JOIN tasks t ON t.task_id = a.task_id
    WHERE t.run_id IN (SELECT run_id FROM experiment_runs WHERE experiment = ?1)
      AND a.started IS NOT NULL AND a.ended IS NOT NULL)sql");
  q.bind(1, experiment);
  std::vector<AttemptSpan> out;
  while (q.executeStep())
    out.push_back({q.getColumn(0).getString(), q.getColumn(1).getDouble(), q.getColumn(2).getDouble(),
                   q.getColumn(3).getString()});
  return out;
}

std::vector<ExperimentResult> results_of_experiment(Store& store, const std::string& experiment) {
  // The sample task is found through the eval spec's samples_of, in the same query.
  const std::string sql = R"sql(
    SELECT er.axes, er.position, res.run_id, res.result_id, ifnull(res.task_id, ''), res.metric, res.value,
           res.recipe, ifnull(te.spec, '{}'), ifnull(ts.task_id, ''), ifnull(ts.spec, '{}'), )sql" +
                          stale_run_sql(store, "er") + ", " + released_run_sql("r") + R"sql(
    FROM experiment_runs er
    JOIN results res ON res.run_id = er.run_id
    LEFT JOIN runs r ON r.run_id = er.run_id
    LEFT JOIN tasks te ON te.task_id = res.task_id
    LEFT JOIN tasks ts ON ts.task_id = json_extract(te.spec, '$.samples_of')
    WHERE er.experiment = ?1
    ORDER BY er.position, res.result_id, res.metric)sql";
  SQLite::Statement q(store.db(), sql);
  q.bind(1, experiment);
  std::vector<ExperimentResult> out;
  while (q.executeStep()) {
    ExperimentResult r;
    r.axes = q.getColumn(0).getString();
    r.position = q.getColumn(1).getInt64();
    r.run_id = q.getColumn(2).getString();
    r.result_id = q.getColumn(3).getString();
    r.eval_task = q.getColumn(4).getString();
    r.metric = q.getColumn(5).getString();
    r.value = q.getColumn(6).getDouble();
    r.recipe = q.getColumn(7).getString();
    r.eval_spec = q.getColumn(8).getString();
    r.sample_task = q.getColumn(9).getString();
    r.sample_spec = q.getColumn(10).getString();
    r.stale = q.getColumn(11).getInt() != 0;
    r.released = q.getColumn(12).getInt() != 0;
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace repro::runner
