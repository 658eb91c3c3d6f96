#pragma once
// Writing the orchestrator's rows: experiments, runs, tasks, attempts, results, artifacts,
// provenance. Metrics and task events come from ingest.h. Each function is atomic (it runs in a
// WriteTransaction, which nests inside the caller's). Foreign keys are enforced: a row naming a
// run or task that does not exist throws SQLite::Exception (FOREIGN KEY constraint failed).
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "store/store.h"
#include "store/task_state.h"

namespace repro::runner {

struct ExperimentRow {
  std::string name;         // the experiment file's `name:`
  std::string file;         // path of the YAML file as given on the command line
  std::string file_sha256;  // of the file's bytes, lowercase hex
};

// Inserts the experiment, or updates file and file_sha256 of an existing one (the file changed).
void put_experiment(Store& store, const ExperimentRow& row);

struct RunRow {
  std::string run_id;      // short hash of the canonical resolved training config (design.md, Identity)
  std::string experiment;  // an experiment already put
  std::string axes;        // JSON object: axis -> value of this cell of the matrix
  int64_t position = 0;    // index of the cell in the expanded matrix (order of `repro status`)
  std::string config;      // JSON: the resolved training config the run id hashes
  std::string run_dir;     // the run directory
};

// Inserts the run when new (status pending) and links it to the experiment (several experiments
// may share a run: the id depends on the config only). An existing run keeps its config, status
// and run_dir; the link's axes and position are updated.
void put_run(Store& store, const RunRow& row);

void set_run_status(Store& store, const std::string& run_id, TaskState status);

// Replaces the experiment's current expansion (current_expansion, docs/database.md: stale runs)
// with `run_ids`: every run id of the latest expansion of its file, --only filters not applied.
// Runs linked to the experiment but not listed become stale. The ids need not be put yet.
// REQUIRES: the experiment is put; the store is at schema version 5 or later.
void set_current_expansion(Store& store, const std::string& experiment, const std::vector<std::string>& run_ids);
// Adds `run_ids` to the experiment's current expansion, leaving the others: for an expansion that
// could not name every cell (a missing checkpoint file), whose absence says nothing of staleness.
void add_to_current_expansion(Store& store, const std::string& experiment, const std::vector<std::string>& run_ids);

struct TaskRow {
  std::string task_id;  // unique across the store (e.g. run id + kind + settings hash)
  std::string run_id;
  TaskKind kind = TaskKind::kTrain;
  std::string spec;  // JSON: what `repro task` needs (checkpoint, sampler, ...)
};

// Inserts the task when new (state pending, 0 attempts); an existing task keeps its state,
// attempts and times, and takes `row.spec` when that differs: a train task's id does not hash its
// spec, so a later plan may change it (keep_steps, train.keep), and the store shows what runs.
void put_task(Store& store, const TaskRow& row);

// Throws IoError when the task does not exist.
void set_task_state(Store& store, const std::string& task_id, TaskState state);

struct AttemptStart {
  std::string task_id;
  ExecutorKind executor = ExecutorKind::kLocal;
  std::string job_id;  // Slurm job id ("1234", "1234_5" in an array) or the local child's pid
  std::string host;
  std::string gpus;               // GPU ids handed over in CUDA_VISIBLE_DEVICES ("0,1"); "" = none
  std::string log_path;           // stdout+stderr of this attempt
  std::optional<double> started;  // empty: now (a Slurm job may start later: set it then)
};

// Counts a new attempt of the task: tasks.attempts += 1, state = running, and an attempts row
// numbered tasks.attempts. Returns that number (1 for the first attempt).
int begin_attempt(Store& store, const AttemptStart& start);

struct AttemptEnd {
  std::optional<int> exit_code;  // empty when unknown (lost job, killed orchestrator)
  std::string reason;            // "" when the exit code says it all; else timeout, signal 9,
                                 // node failure, preempted, cancelled, ...
  std::optional<double> ended;   // empty: now
};

// Records how an attempt ended. The task's state is the caller's to set (set_task_state), as
// retries decide it. Throws IoError when the attempt does not exist.
void end_attempt(Store& store, const std::string& task_id, int attempt, const AttemptEnd& end);

struct ResultRow {
  std::string result_id;  // run id + checkpoint + EMA + sampler + samples + evaluator recipe
  std::string run_id;
  std::string task_id;  // the eval task that produced it; "" = none
  std::string metric;   // fid, sfid, precision, recall, is, ...
  double value = 0;
  std::string recipe;  // JSON: the evaluator recipe (feature network and reference SHA-256s, ...)
};

// Inserts or replaces the (result_id, metric) row.
void put_result(Store& store, const ResultRow& row);

struct ArtifactRow {
  std::string task_id;
  std::string path;              // relative to the run directory
  std::string sha256;            // "" = unknown
  std::optional<int64_t> bytes;  // empty = unknown
};

// Inserts or replaces the (task_id, path) row.
void put_artifact(Store& store, const ArtifactRow& row);

// Sets provenance entries (key -> value) of a run, or of one of its tasks when task_id is not
// empty, replacing earlier values of the same keys. Keys: docs/database.md.
void put_provenance(Store& store, const std::string& run_id, const std::string& task_id,
                    const std::map<std::string, std::string>& entries);

}  // namespace repro::runner
