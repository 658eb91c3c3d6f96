#pragma once
// Reading the store for the report's figures (reports/report_figures.h): the files the sample
// tasks recorded (their PNG grids, the exposure tasks' JSON) and the training curves. Torch-free.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/queries.h"
#include "store/store.h"

namespace repro::runner {

// A file a sample task of the experiment recorded, with the task's spec and its run's directory.
struct SampleArtifact {
  std::string run_id;
  std::string task_id;
  std::string spec;     // the sample task's spec, JSON text (runner::SampleTaskSpec)
  std::string run_dir;  // as stored
  std::string path;     // relative to run_dir ("samples/<task_id>.png")
  std::string sha256;   // "" = unknown
  std::optional<int64_t> bytes;
};

// The files of the experiment's sample tasks in (matrix position, task id, path) order: the
// artifacts rows, plus the `artifact` records of task_events that have no artifacts row (the
// ingest keeps every non-log record there).
std::vector<SampleArtifact> sample_artifacts_of_experiment(Store& store, const std::string& experiment);

// A file an exposure task recorded (eval.exposure: a sample task whose spec has exposure_num > 0;
// it writes exposure/<task_id>.json and .svg), with its run's axes and place in the matrix.
struct ExposureArtifact {
  SampleArtifact file;  // spec: the exposure task's SampleTaskSpec
  std::string axes;     // JSON object: the run's axes, as put_run stored them
  int64_t position = 0;
  bool stale = false;  // the run is of an earlier expansion of the experiment (stale_run_sql)
};

// The files (every extension) of the experiment's exposure tasks, as sample_artifacts_of_experiment
// finds them, in (matrix position, task id, path) order; stale runs' too, flagged.
std::vector<ExposureArtifact> exposure_artifacts_of_experiment(Store& store, const std::string& experiment);

// The metric `name` ("loss", "grad_norm", ...) of the run's train tasks in (step, seq) order; a
// step recorded by several train tasks appears once per task.
std::vector<MetricPoint> train_metric_of_run(Store& store, const std::string& run_id, const std::string& name);

}  // namespace repro::runner
