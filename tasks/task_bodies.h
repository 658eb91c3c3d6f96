#pragma once
// The three kinds of task run_task dispatches to, each with its typed spec. Each writes its events
// (docs/events.md) to task.events and its outputs inside task.run_dir; returns the exit code.
#include <iosfwd>

#include "runner/plan/task_spec.h"
#include "tasks/run_task.h"
#include "tasks/task_file.h"

namespace repro::tasks {

// Writes the run's train.yaml from the spec (when it changed) and trains, resuming, to
// spec.iterations; a data-parallel run starts its local ranks unless a launcher started this one.
int train_task(const TaskFile& task, const runner::TrainTaskSpec& spec, const TaskOptions& options, std::ostream& err);

// Samples of the checkpoint checkpoint_file(spec) to <run_dir>/samples/<task_id>.npz (kept when an
// earlier attempt finished it); with spec.exposure_num > 0, exposure bias instead, to
// <run_dir>/exposure/<task_id>.json and .svg (tasks/exposure_run.h). DataError when the
// checkpoint does not exist yet.
int sample_task(const TaskFile& task, const runner::SampleTaskSpec& spec, int threads, std::ostream& err);

// Features of the sample task's samples and of the reference batch, then the evaluator's metrics,
// written as a `result` record.
int eval_task(const TaskFile& task, const runner::EvalTaskSpec& spec, std::ostream& err);

}  // namespace repro::tasks
