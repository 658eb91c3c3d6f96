#include "store/figure_queries.h"

#include <SQLiteCpp/Statement.h>

namespace repro::runner {
namespace {

// The files a task recorded: the artifacts rows, plus the `artifact` records of task_events that
// have no artifacts row (the ingest keeps every non-log record there).
const char* const kTaskFilesSql = R"sql(
    WITH files AS (
      SELECT task_id, path, sha256, bytes FROM artifacts
      UNION ALL
      SELECT e.task_id, json_extract(e.record, '$.path'), json_extract(e.record, '$.sha256'),
             json_extract(e.record, '$.bytes')
      FROM task_events e
      WHERE e.type = 'artifact' AND typeof(json_extract(e.record, '$.path')) = 'text'
        AND NOT EXISTS (SELECT 1 FROM artifacts a
                        WHERE a.task_id = e.task_id AND a.path = json_extract(e.record, '$.path'))))sql";

// Columns 0-6 of a row selecting run_id, task_id, spec, run_dir, path, sha256, bytes.
SampleArtifact artifact_of_row(SQLite::Statement& q) {
  SampleArtifact a{q.getColumn(0).getString(),
                   q.getColumn(1).getString(),
                   q.getColumn(2).getString(),
                   q.getColumn(3).getString(),
                   q.getColumn(4).getString(),
                   q.getColumn(5).getString(),
                   std::nullopt};
  if (!q.getColumn(6).isNull()) a.bytes = q.getColumn(6).getInt64();
  return a;
}

}  // namespace

std::vector<SampleArtifact> sample_artifacts_of_experiment(Store& store, const std::string& experiment) {
  SQLite::Statement q(store.db(), std::string(kTaskFilesSql) + R"sql(
    SELECT DISTINCT t.run_id, t.task_id, t.spec, r.run_dir, f.path, ifnull(f.sha256, ''), f.bytes, er.position
    FROM experiment_runs er
    JOIN runs r ON r.run_id = er.run_id
    JOIN tasks t ON t.run_id = er.run_id AND t.kind = 'sample'
    JOIN files f ON f.task_id = t.task_id
    WHERE er.experiment = ?1
    ORDER BY er.position, t.task_id, f.path)sql");
  q.bind(1, experiment);
  std::vector<SampleArtifact> out;
  while (q.executeStep()) out.push_back(artifact_of_row(q));
  return out;
}

std::vector<ExposureArtifact> exposure_artifacts_of_experiment(Store& store, const std::string& experiment) {
  // CASE: json_extract on a spec that is not JSON would fail the whole query.
  SQLite::Statement q(store.db(), std::string(kTaskFilesSql) + R"sql(
    SELECT DISTINCT t.run_id, t.task_id, t.spec, r.run_dir, f.path, ifnull(f.sha256, ''), f.bytes, er.axes,
           er.position, )sql" + stale_run_sql(store, "er") +
                                      R"sql(
    FROM experiment_runs er
    JOIN runs r ON r.run_id = er.run_id
    JOIN tasks t ON t.run_id = er.run_id AND t.kind = 'sample'
    JOIN files f ON f.task_id = t.task_id
    WHERE er.experiment = ?1
      AND CASE WHEN json_valid(t.spec) THEN json_extract(t.spec, '$.exposure_num') END > 0
    ORDER BY er.position, t.task_id, f.path)sql");
  q.bind(1, experiment);
  std::vector<ExposureArtifact> out;
  while (q.executeStep())
    out.push_back(
        {artifact_of_row(q), q.getColumn(7).getString(), q.getColumn(8).getInt64(), q.getColumn(9).getInt() != 0});
  return out;
}

std::vector<MetricPoint> train_metric_of_run(Store& store, const std::string& run_id, const std::string& name) {
  SQLite::Statement q(store.db(), R"sql(
    SELECT m.name, m.step, m.value FROM metrics m JOIN tasks t ON t.task_id = m.task_id
    WHERE t.run_id = ?1 AND t.kind = 'train' AND m.name = ?2 ORDER BY m.step, m.seq)sql");
  q.bind(1, run_id);
  q.bind(2, name);
  std::vector<MetricPoint> out;
  while (q.executeStep())
    out.push_back({q.getColumn(0).getString(), q.getColumn(1).getInt64(), q.getColumn(2).getDouble()});
  return out;
}

}  // namespace repro::runner
