#include <algorithm>
#include <filesystem>
#include <optional>
#include <ostream>
#include <system_error>
#include <vector>

#include "base/util/errors.h"
#include "base/util/file_io.h"
#include "tasks/task_bodies.h"
#include "tasks/train_run.h"

namespace repro::tasks {

namespace fs = std::filesystem;

namespace {

// The steps the plan samples, plus those every sample task file of the run directory reads: a run
// is shared by the experiments whose cells have its config (fid_curves trains table3's runs
// further), and each that planned sample tasks of it wrote their files here. A file that cannot be
// read might name any step: then nothing is deleted (empty optional), with a warning. So does a
// listing of tasks/ that fails (at its start or part-way): the files it did not reach might too.
// Only a run directory without tasks/ has none to read.
std::optional<std::vector<int64_t>> steps_to_keep(const fs::path& run_dir, const runner::TrainTaskSpec& spec,
                                                  std::ostream& err) {
  if (!spec.keep_steps) return std::nullopt;
  std::vector<int64_t> steps = *spec.keep_steps;
  std::error_code ec;
  fs::directory_iterator it(run_dir / "tasks", ec), end;
  if (ec == std::errc::no_such_file_or_directory) ec.clear();  // no tasks/: no file to read (it == end)
  for (; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (it->path().extension() != ".json" || name.find(".events.") != std::string::npos) continue;
    try {
      const TaskFile task = read_task_file(it->path().string());
      if (task.kind == runner::TaskKind::kSample)
        steps.push_back(runner::parse_sample_spec(task.spec, task.path).checkpoint_step);
    } catch (const Error& e) {
      err << "warning: train.keep deletes nothing this time: " << e.what() << "\n";
      return std::nullopt;
    }
  }
  if (ec) {
    err << "warning: train.keep deletes nothing this time: cannot list " << (run_dir / "tasks").string() << ": "
        << ec.message() << "\n";
    return std::nullopt;
  }
  std::sort(steps.begin(), steps.end());
  steps.erase(std::unique(steps.begin(), steps.end()), steps.end());
  return steps;
}

}  // namespace

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
  job.keep_steps = steps_to_keep(run_dir, spec, err);
  job.runtime.threads = options.threads;
  job.command_line = options.command_line;
  return train_run(job, err);
}

}  // namespace repro::tasks
