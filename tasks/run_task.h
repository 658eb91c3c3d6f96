#pragma once
// One task of an experiment, as `repro run` launches it (`repro task FILE`; docs/runner.md): reads
// the task file, its typed spec (runner/plan/task_spec.h) and runs the train, sample or eval task.
// The task writes only inside its run directory: train.yaml, events, checkpoints, samples, results.
#include <iosfwd>
#include <string>
#include <vector>

namespace repro::tasks {

struct TaskOptions {
  int threads = 0;  // intra-op CPU threads of a train or sample task; 0 = all cores
  // The argv that runs this task again (`repro task FILE ...`): a data-parallel train task re-runs
  // it once per local rank, each with --threads cores/N. REQUIRES: non-empty for such a task.
  std::vector<std::string> command_line;
};

// Returns the exit code: ExitCode::kOk, or for a train task kDiverged, kInterrupted or the status
// of a failed local rank. Throws ConfigError naming the file and key of a bad task file or spec,
// and the task's own errors (IoError, DataError, ...) after writing its `end error` event.
int run_task(const std::string& path, const TaskOptions& options, std::ostream& err);

}  // namespace repro::tasks
