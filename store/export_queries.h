#pragma once
// Reading the store for `repro export mlflow` (reports/mlflow_export.h): experiments with their
// times, an experiment's runs with their status and attempt span, a run's training curves with
// the time of each point, its results with their sampling settings. Rows as stored;
// JSON columns stay text.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/store.h"

namespace repro::runner {

struct ExportExperiment {
  std::string name;
  std::string file;         // the experiment file as last put
  std::string file_sha256;  // of that file
  double created = 0;       // Unix seconds
  double updated = 0;
};

// Every experiment, oldest first (created, then name).
std::vector<ExportExperiment> export_experiments(Store& store);

struct ExportRun {
  std::string run_id;
  int64_t position = 0;  // in the experiment's matrix
  std::string axes;      // JSON object, as put_run stored it (its key order kept)
  std::string config;    // JSON: the resolved config
  std::string run_dir;   // as stored (absolute, or relative to the project directory)
  std::string status;    // pending, running, done, failed or cancelled
  double created = 0;    // Unix seconds
  double updated = 0;
  std::optional<double> started;  // the earliest start of an attempt of its tasks
  std::optional<double> ended;    // the latest end of an attempt of its tasks
  bool stale = false;             // of an earlier expansion (stale_run_sql, queries.h)
};

// The experiment's runs in matrix order (position, then run id), stale ones included and
// flagged. Empty for an unknown experiment.
std::vector<ExportRun> export_runs(Store& store, const std::string& experiment);

struct TimedMetricPoint {
  std::string name;
  int64_t step = 0;
  double value = 0;
  double time = 0;  // Unix seconds of the log record (see train_metrics_of_run)
};

// The metrics of the run's train tasks in (name, step, seq) order, without the `time` metric: that
// one is each log record's Unix time (docs/events.md), which becomes the time of the other metrics
// of its (task, step). A point without one takes its task's first attempt start, else the task's
// created time. A step recorded by several train tasks appears once per task.
std::vector<TimedMetricPoint> train_metrics_of_run(Store& store, const std::string& run_id);

struct ExportResult {
  std::string result_id;
  std::string metric;
  double value = 0;
  double created = 0;       // Unix seconds
  std::string sample_spec;  // JSON of the sample task the eval task read; "{}" when unknown
};

// The run's results in (result_id, metric) order.
std::vector<ExportResult> export_results_of_run(Store& store, const std::string& run_id);

// A run's artifacts: artifacts_of_run (inspect_queries.h).

}  // namespace repro::runner
