#pragma once
// The tasks an experiment's runs need: per training run one train task (none for a run from a
// checkpoint file, whose sample tasks read that file); per checkpoint to
// evaluate and sampler setting (step count or eval.start's K, eta, eval.eps_scale entry) one
// sample task after it; per sample task one eval task; with eval.exposure, per sampler setting one
// exposure task too (a sample task with exposure_num > 0, read by no eval task). Task ids
// are hashes of what the task computes, so a second `repro run` of the same file finds the same
// tasks (done ones are skipped) and a changed setting makes new ones only where it matters.
#include <string>
#include <vector>

#include "runner/experiment/expand.h"
#include "runner/plan/task_spec.h"

namespace repro::runner {

struct TaskSpec {
  std::string task_id;  // "<run_id>-train<iterations>", "<run_id>-sample-<hash>", "<run_id>-eval-<hash>"
  std::string run_id;
  std::string kind;                     // train | sample | eval
  std::vector<std::string> depends_on;  // task ids
  std::string spec;                     // what the task computes (docs/experiments.md): compact JSON, as stored
  std::vector<std::string> cells;       // the matrix cells (label strings) that need it
  int processes = 1;                    // ranks it runs as: a train task's train.world_size, else 1
  // A sample task: the checkpoint it reads, relative to the run directory. Written atomically by
  // the train task it depends on, so once it exists the task may start while training goes on.
  std::string early_start_file;
  // A sample task of a run from a checkpoint file (PlannedRun::checkpoint; it depends on nothing):
  // the file, absolute, and the run's config as train_yaml() writes it. The task file carries
  // them ("released"), not the spec: moving the file keeps every task id.
  std::string checkpoint_path;
  std::string run_config;

  // `kind` and `spec` typed. The *_spec() accessors parse `spec` (ConfigError naming the task and
  // key when it is not that kind's spec).
  TaskKind task_kind() const { return parse_task_kind(kind); }
  TrainTaskSpec train_spec() const;
  SampleTaskSpec sample_spec() const;
  EvalTaskSpec eval_spec() const;
};

// Deduplicated by task id, dependencies before dependants, in the runs' order. `all`: every cell
// of the file (its expansion without --only filters), when `runs` is a selection of them: a train
// task's keep_steps are then the steps sampled by every cell of `all` sharing its run too, so that
// training a run for one cell never prunes a checkpoint another cell samples later. Null: `runs`
// are all the cells.
std::vector<TaskSpec> plan_tasks(const std::vector<PlannedRun>& runs, const std::vector<PlannedRun>* all = nullptr);

// The training file of a run as `repro train` reads it (YAML; data.path absolute, no eval: or
// checkpoint:); of a run from a checkpoint file, without data: too.
std::string train_yaml(const PlannedRun& run);

}  // namespace repro::runner
