#include "store/figure_queries.h"

#include <SQLiteCpp/Statement.h>

namespace repro::runner {

std::vector<SampleArtifact> sample_artifacts_of_experiment(Store& store, const std::string& experiment) {
  SQLite::Statement q(store.db(), R"sql(
    WITH files AS (
      SELECT task_id, path, sha256, bytes FROM artifacts
      UNION ALL
      SELECT e.task_id, json_extract(e.record, '$.path'), json_extract(e.record, '$.sha256'),
             json_extract(e.record, '$.bytes')
      FROM task_events e
      WHERE e.type = 'artifact' AND typeof(json_extract(e.record, '$.path')) = 'text'
        AND NOT EXISTS (SELECT 1 FROM artifacts a
                        WHERE a.task_id = e.task_id AND a.path = json_extract(e.record, '$.path')))
    SELECT DISTINCT t.run_id, t.task_id, t.spec, r.run_dir, f.path, ifnull(f.sha256, ''), f.bytes, er.position
    FROM experiment_runs er
    JOIN runs r ON r.run_id = er.run_id
    JOIN tasks t ON t.run_id = er.run_id AND t.kind = 'sample'
    JOIN files f ON f.task_id = t.task_id
    WHERE er.experiment = ?1
    ORDER BY er.position, t.task_id, f.path)sql");
  q.bind(1, experiment);
  std::vector<SampleArtifact> out;
  while (q.executeStep()) {
    SampleArtifact a{q.getColumn(0).getString(),
                     q.getColumn(1).getString(),
                     q.getColumn(2).getString(),
                     q.getColumn(3).getString(),
                     q.getColumn(4).getString(),
                     q.getColumn(5).getString(),
                     std::nullopt};
    if (!q.getColumn(6).isNull()) a.bytes = q.getColumn(6).getInt64();
    out.push_back(std::move(a));
  }
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
