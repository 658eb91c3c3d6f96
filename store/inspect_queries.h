#pragma once
// Reading the store for `repro show`, `repro results` and `repro diff` (reports/inspect.h): one
// run or task in full, an experiment's results with their sampling settings, ids by prefix. Each
// function is one SQL query over the tables (not the views: a store opened read-only keeps the
// schema version it has). Stale runs: stale_run_sql (queries.h).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/store.h"

namespace repro::runner {

// Up to `limit` task ids that start with `prefix`: the task whose id is `prefix` first, the
// others in id order.
std::vector<std::string> task_ids_starting_with(Store& store, const std::string& prefix, int limit);

// A run's row of `runs`.
struct RunRecord {
  std::string run_id;
  std::string config;  // JSON: the resolved training config
  std::string run_dir;
  std::string status;  // pending, running, done, failed, cancelled
  double created = 0;
  double updated = 0;
  bool released = false;  // a run from a checkpoint file (released_run_sql)
};

// nullopt for an unknown run.
std::optional<RunRecord> run_record(Store& store, const std::string& run_id);

// The run id of a task; nullopt for an unknown task.
std::optional<std::string> run_of_task(Store& store, const std::string& task_id);

// One experiment a run belongs to.
struct RunMembership {
  std::string experiment;
  std::string axes;  // JSON object: the matrix cell
  int64_t position = 0;
  bool stale = false;  // linked, but not in the experiment's latest expansion
};

// The experiments the run belongs to, by name.
std::vector<RunMembership> memberships_of_run(Store& store, const std::string& run_id);

struct ProvenanceEntry {
  std::string task_id;  // "" = the whole run
  std::string key;
  std::string value;
};

// The run's provenance rows (its own and its tasks'), in (task_id, key) order, the run's first.
std::vector<ProvenanceEntry> provenance_of_run(Store& store, const std::string& run_id);

struct ArtifactEntry {
  std::string task_id;
  std::string path;    // relative to the run directory, as stored
  std::string sha256;  // "" = unknown
  std::optional<int64_t> bytes;
};

// The artifacts of the run's tasks, in (task_id, path) order.
std::vector<ArtifactEntry> artifacts_of_run(Store& store, const std::string& run_id);

// One result with the run it belongs to and the spec of the sample task its eval task read.
struct SettingResult {
  std::string run_id;
  int64_t position = 0;  // the run's place in the experiment's matrix; 0 for run_results()
  std::string axes;      // JSON object; "{}" for run_results()
  bool stale = false;    // false for run_results()
  std::string result_id;
  std::string eval_task;  // "" when the result names no task
  std::string metric;
  double value = 0;
  std::string recipe;       // JSON
  std::string sample_task;  // "" when the eval spec names no stored sample task
  std::string sample_spec;  // JSON; "{}" when there is no sample task
  bool released = false;    // the run is from a checkpoint file (released_run_sql, queries.h)
};

// The results of the experiment's runs in (position, result_id, metric) order; stale runs' only
// with include_stale. Empty for an unknown experiment.
std::vector<SettingResult> experiment_results(Store& store, const std::string& experiment, bool include_stale);

// The results of one run in (result_id, metric) order.
std::vector<SettingResult> run_results(Store& store, const std::string& run_id);

// The axes (JSON objects) of the experiment's runs, stale ones too, in matrix order.
std::vector<std::string> axes_of_experiment(Store& store, const std::string& experiment);

// The experiment's runs that are stale, by id (none before schema version 5).
std::vector<std::string> stale_runs_of_experiment(Store& store, const std::string& experiment);

}  // namespace repro::runner
