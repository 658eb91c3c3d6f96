#pragma once
// Reading the store for `repro report` and `repro compare` (reports/). Each function is one SQL
// query over an experiment's runs, returning rows as stored: JSON columns stay text for the
// reports to parse. Point reads by key they share with the writers are in lookups.h.
#include <cstdint>
#include <string>
#include <vector>

#include "store/queries.h"
#include "store/records.h"
#include "store/store.h"

namespace repro::runner {

// Every experiment (name, file, file_sha256 as last put), oldest first (created, then name).
std::vector<ExperimentRow> experiment_rows(Store& store);

// The "loss" metric of the run's train tasks in (step, seq) order; a step recorded by several
// train tasks appears once per task.
std::vector<MetricPoint> train_loss_of_run(Store& store, const std::string& run_id);

struct ReportRun {
  std::string run_id;
  int64_t position = 0;  // in the experiment's matrix
  std::string axes;      // JSON object, as put_run stored it
  std::string seed;      // the resolved config's train.seed as text; "" when it has none
  std::string config;    // JSON: the resolved config, as put_run stored it
  double created = 0;    // when the run was first put (Unix seconds)
  bool stale = false;    // of an earlier expansion of the experiment (stale_run_sql, queries.h)
};

// The experiment's runs in matrix order (position), stale ones included and flagged. Empty for an
// unknown experiment.
std::vector<ReportRun> report_runs(Store& store, const std::string& experiment);

struct ProvenanceRecord {
  std::string run_id;
  std::string task_id;  // "" = the whole run
  std::string kind;     // the task's kind ("train", "sample", "eval"); "" for run rows
  std::string key;
  std::string value;
};

// The provenance rows of the experiment's runs, in (run_id, task_id, key) order.
std::vector<ProvenanceRecord> provenance_of_experiment(Store& store, const std::string& experiment);

struct AttemptSpan {
  std::string run_id;
  double started = 0;  // Unix seconds
  double ended = 0;
  std::string gpus;  // as handed over in CUDA_VISIBLE_DEVICES ("0,1"); "" = none
};

// The attempts of the experiment's runs' tasks that have both a start and an end time, in no
// particular order.
std::vector<AttemptSpan> finished_attempts_of_experiment(Store& store, const std::string& experiment);

// One result with what produced it: its run's place in the matrix, the eval task that wrote it
// and the sample task that eval read (the eval spec's samples_of).
struct ExperimentResult {
  std::string axes;  // JSON object: the run's axes
  int64_t position = 0;
  std::string run_id;
  std::string result_id;
  std::string eval_task;  // "" when the result names no task
  std::string metric;
  double value = 0;
  std::string recipe;       // JSON
  std::string eval_spec;    // JSON; "{}" when there is no eval task
  std::string sample_task;  // "" when the eval spec names no stored sample task
  std::string sample_spec;  // JSON; "{}" when there is no sample task
  bool stale = false;       // the run is of an earlier expansion of the experiment
  bool released = false;    // the run is from a checkpoint file (released_run_sql, queries.h)
};

// The results of the experiment's runs in (position, result_id, metric) order, those of stale
// runs included and flagged.
std::vector<ExperimentResult> results_of_experiment(Store& store, const std::string& experiment);

}  // namespace repro::runner
