#include <filesystem>

#include "base/util/file_io.h"
#include "tasks/task_bodies.h"
#include "tasks/train_run.h"

namespace repro::tasks {

namespace fs = std::filesystem;

// A train task whose config has train.world_size N > 1 runs as N processes: on Slurm srun starts
// them (SLURM_PROCID); locally train_run re-runs the task's command line once per rank (with
// RANK/WORLD_SIZE and --threads K), each rank coming back here.
int train_task(const TaskFile& task, const runner::TrainTaskSpec& spec, const TaskOptions& options, std::ostream& err) {
  const fs::path run_dir = task.run_dir;
  fs::create_directories(run_dir);
  // The run's training file, as the plan resolved it; rewritten only when it changed.
  const std::string config = (run_dir / "train.yaml").string();
  if (!fs::exists(config) || read_file(config) != spec.config) write_file_atomic(config, spec.config);
  TrainJob job;
  job.config = config;
  job.run_dir = run_dir.string();
  job.events = task.events;
  job.iterations = spec.iterations;
  job.resume = true;
  job.runtime.threads = options.threads;
  job.command_line = options.command_line;
  return train_run(job, err);
}

}  // namespace repro::tasks
