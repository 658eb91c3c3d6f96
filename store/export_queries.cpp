#include "store/export_queries.h"

#include <SQLiteCpp/Statement.h>

#include <utility>

#include "store/queries.h"

namespace repro::runner {
namespace {

std::optional<double> optional_double(const SQLite::Column& c) {
  if (c.isNull()) return std::nullopt;
  return c.getDouble();
}

}  // namespace

std::vector<ExportExperiment> export_experiments(Store& store) {
  SQLite::Statement q(store.db(),
                      "SELECT name, file, file_sha256, created, updated FROM experiments ORDER BY created, name");
  std::vector<ExportExperiment> out;
  while (q.executeStep())
    out.push_back({q.getColumn(0).getString(), q.getColumn(1).getString(), q.getColumn(2).getString(),
                   q.getColumn(3).getDouble(), q.getColumn(4).getDouble()});
  return out;
}

std::vector<ExportRun> export_runs(Store& store, const std::string& experiment) {
  SQLite::Statement q(store.db(),
                      "SELECT er.run_id, er.position, er.axes, r.config, r.run_dir, r.status, r.created, r.updated, "
                      "  (SELECT min(a.started) FROM attempts a JOIN tasks t ON t.task_id = a.task_id "
                      "   WHERE t.run_id = er.run_id), "
                      "  (SELECT max(a.ended) FROM attempts a JOIN tasks t ON t.task_id = a.task_id "
                      "   WHERE t.run_id = er.run_id), " +
                          stale_run_sql(store, "er") +
                          " FROM experiment_runs er JOIN runs r ON r.run_id = er.run_id "
                          "WHERE er.experiment = ?1 ORDER BY er.position, er.run_id");
  q.bind(1, experiment);
  std::vector<ExportRun> out;
  while (q.executeStep()) {
    ExportRun r;
    r.run_id = q.getColumn(0).getString();
    r.position = q.getColumn(1).getInt64();
    r.axes = q.getColumn(2).getString();
    r.config = q.getColumn(3).getString();
    r.run_dir = q.getColumn(4).getString();
    r.status = q.getColumn(5).getString();
    r.created = q.getColumn(6).getDouble();
    r.updated = q.getColumn(7).getDouble();
    r.started = optional_double(q.getColumn(8));
    r.ended = optional_double(q.getColumn(9));
    r.stale = q.getColumn(10).getInt() != 0;
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<TimedMetricPoint> train_metrics_of_run(Store& store, const std::string& run_id) {
  // The `time` row of the same (task, step) is one primary-key probe per point.
  SQLite::Statement q(store.db(), R"sql(
    SELECT m.name, m.step, m.value,
           coalesce(tm.value, (SELECT min(a.started) FROM attempts a WHERE a.task_id = m.task_id), t.created)
    FROM metrics m JOIN tasks t ON t.task_id = m.task_id
    LEFT JOIN metrics tm ON tm.task_id = m.task_id AND tm.name = 'time' AND tm.step = m.step
    WHERE t.run_id = ?1 AND t.kind = 'train' AND m.name <> 'time'
    ORDER BY m.name, m.step, m.seq)sql");
  q.bind(1, run_id);
  std::vector<TimedMetricPoint> out;
  while (q.executeStep())
    out.push_back({q.getColumn(0).getString(), q.getColumn(1).getInt64(), q.getColumn(2).getDouble(),
                   q.getColumn(3).getDouble()});
  return out;
}

std::vector<ExportResult> export_results_of_run(Store& store, const std::string& run_id) {
  SQLite::Statement q(store.db(), R"sql(
    SELECT res.result_id, res.metric, res.value, res.created, ifnull(ts.spec, '{}')
    FROM results res
    LEFT JOIN tasks te ON te.task_id = res.task_id
    LEFT JOIN tasks ts ON ts.task_id = json_extract(te.spec, '$.samples_of')
    WHERE res.run_id = ?1 ORDER BY res.result_id, res.metric)sql");
  q.bind(1, run_id);
  std::vector<ExportResult> out;
  while (q.executeStep())
    out.push_back({q.getColumn(0).getString(), q.getColumn(1).getString(), q.getColumn(2).getDouble(),
                   q.getColumn(3).getDouble(), q.getColumn(4).getString()});
  return out;
}

}  // namespace repro::runner
