#pragma once
// Pre-flight checks of a plan's inputs before anything launches (the dry run): every training
// data path, reference batch and the FID Inception weights the tasks to run will read exists, and
// has the digest recorded for it where one is: the published SHA-256 of a weights file named
// like a published one, and the data fingerprint the run trained on before (the store's
// provenance) for a prepared dataset; a released checkpoint (a run's checkpoint:) exists, has its
// pinned SHA-256 and holds the keys and shapes of the run's model. Each file is looked at once,
// however many runs use it.
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "runner/experiment/expand.h"
#include "runner/plan/run_history.h"
#include "runner/plan/task_graph.h"

namespace repro::runner {

struct PreflightCheck {
  std::string what;  // "checkpoint", "data", "reference", "x0 images", "inception weights"
  std::string path;  // as the tasks will open it
  bool ok = true;
  std::string message;  // "missing", "SHA-256 a1.. is not ...", or what was verified
  int runs = 0;         // runs with a task to run that reads it
};

struct PreflightOptions {
  // The file `features: inception` loads (metrics::inception_weights_path()).
  std::string inception_weights;
  // A prepared dataset's manifest fingerprint (datasets/packed_format.h), given by the caller so
  // that the runner does not link the datasets layer. Throws IoError for an unreadable manifest.
  // Empty: prepared datasets are checked for existence only.
  std::function<std::string(const std::string& dir)> manifest_fingerprint;
};

// The checks for the tasks with to_run set (index-aligned with `tasks`): the checkpoint_checks of
// the runs whose sample tasks run (first), data.path of each run whose train task runs, the x0
// images (eval.start from data, eval.exposure; "reference" when they are the reference batch) of
// each run whose sample tasks run, the reference and weights of each eval task that runs.
// `history`: what the store recorded (run_history()), empty without a store. Never throws for a bad
// input: it is a failed check.
std::vector<PreflightCheck> preflight(const std::vector<PlannedRun>& runs, const std::vector<TaskSpec>& tasks,
                                      const std::vector<bool>& to_run, const std::map<std::string, RunHistory>& history,
                                      const PreflightOptions& options);

// Why a checkpoint check failed, as the sample task would fail on it (tasks/sample_task.cpp): the
// file (missing, another SHA-256 than the pinned one, not a readable torch.save zip: IoError, exit
// 3) or what it holds (keys or shapes not the model's, not a flat state dict: DataError, exit 4).
enum class CheckpointFault { kNone, kFile, kContent };

struct CheckpointCheck {
  PreflightCheck check;  // what = "checkpoint", path = the file
  CheckpointFault fault = CheckpointFault::kNone;
};

// One check per released checkpoint file (and pinned digest and model, when runs read one file into
// two models or pin two digests for it) of the runs in `sampled` (run ids whose sample tasks are to
// run), in run order. Missing: "missing (expected SHA-256 <pinned or ->; ...)"; a pinned
// checkpoint.sha256 that is not the digest read at expansion (CheckpointSource::actual_sha256; the
// file is not hashed again): "SHA-256 <actual> is not the pinned <expected> (checkpoint.sha256)";
// keys and shapes (read without the tensors' bytes: read_state_dict_records) that are not
// unet_state_shapes of the run's train.model: the missing, unexpected and mis-shaped keys
// (StateDictMismatch::describe). Never throws: a bad file is a failed check.
std::vector<CheckpointCheck> checkpoint_checks(const std::vector<PlannedRun>& runs,
                                               const std::set<std::string>& sampled);

// The first check that failed; nullptr when all passed.
const PreflightCheck* first_failure(const std::vector<PreflightCheck>& checks);

}  // namespace repro::runner
