#include "tasks/train_run.h"

#include <unistd.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <memory>
#include <ostream>
#include <thread>

#include "base/util/errors.h"
#include "base/util/exit_code.h"
#include "base/util/file_io.h"
#include "base/util/stop_signals.h"
#include "config/train_config_yaml.h"
#include "config/train_identity.h"
#include "core/train/train_state.h"
#include "core/train/trainer.h"
#include "tasks/local_launcher.h"
#include "tasks/provenance.h"
#include "train_data/image_sources.h"

namespace repro::tasks {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// How many local ranks this process must launch (0: it trains itself): --nproc, else the
// config's train.world_size when no launcher (torchrun, srun, an earlier --nproc) started it.
int ranks_to_launch(const TrainJob& a, const core::TrainConfig& t, const core::DistEnv& env) {
  const std::string launched = env.distributed() ? "rank " + std::to_string(env.rank) + " of " +
                                                       std::to_string(env.world_size) + " (" + env.source + ")"
                                                 : "";
  if (env.distributed() && a.nproc > 0)
    throw ConfigError("command line", "--nproc", "this process is already " + launched + "; drop --nproc");
  if (env.distributed() && t.world_size > 0 && t.world_size != env.world_size)
    throw ConfigError(
        a.config, "train.world_size",
        "the run trains with " + std::to_string(t.world_size) + " processes, this process is " + launched);
  if (env.distributed()) return 0;
  if (a.nproc > 0 && t.world_size > 0 && a.nproc != t.world_size)
    throw ConfigError("command line", "--nproc",
                      std::to_string(a.nproc) + " processes contradict train.world_size " +
                          std::to_string(t.world_size) + " in " + a.config + "; drop --nproc");
  const int n = a.nproc > 0 ? a.nproc : t.planned_world_size();
  return n > 1 ? n : 0;
}

int launch_ranks(const TrainJob& a, int n, std::ostream& err) {
  REPRO_CHECK(!a.command_line.empty(), "a training that starts local ranks needs its command line");
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int threads = a.runtime.threads > 0 ? a.runtime.threads : std::max(1, cores / n);
  return launch_local_ranks(n, without_options(a.command_line, {"--nproc"}), threads, err);
}

// The run directory belongs to one config: refuse to mix, and to restart a run without --resume.
void check_run_directory(const TrainJob& a, const json& id) {
  const fs::path run_dir(a.run_dir);
  const fs::path resolved = run_dir / "config.resolved.json";
  if (!fs::exists(resolved)) return;
  json existing = json::parse(read_file(resolved.string()));
  if (existing != id) {
    std::string diff;
    for (auto it = id.begin(); it != id.end(); ++it)
      for (auto kv = it->begin(); kv != it->end(); ++kv)
        if (!existing.contains(it.key()) || existing[it.key()].value(kv.key(), json()) != kv.value())
          diff += (diff.empty() ? "" : ", ") + it.key() + "." + kv.key();
    throw ConfigError(
        a.run_dir, "",
        "this run directory belongs to a different config (differs in: " + diff + "); use a new --run-dir");
  }
  if (!a.resume && fs::exists(run_dir / "checkpoints") && !fs::is_empty(run_dir / "checkpoints"))
    throw ConfigError(a.run_dir, "--resume", "the run directory already has checkpoints: pass --resume to continue it");
}

// The trainer's log lines: on a terminal the progress lines ("step ...") rewrite one line; in a
// log file each is a line. *on_progress_line says whether the last line written was one.
std::function<void(const std::string&)> progress_log(std::ostream& err, std::shared_ptr<bool> on_progress_line) {
  const bool tty = ::isatty(STDERR_FILENO) && &err == &std::cerr;
  return [&err, tty, on_progress_line](const std::string& s) {
    const bool progress = tty && s.rfind("step ", 0) == 0;
    if (progress) {
      err << "\r" << s << "\033[K" << std::flush;
    } else {
      err << (*on_progress_line ? "\n" : "") << s << "\n";
    }
    *on_progress_line = progress;
  };
}

ExitCode exit_code_of(core::TrainStatus status) {
  switch (status) {
    case core::TrainStatus::kCompleted:
      return ExitCode::kOk;
    case core::TrainStatus::kInterrupted:
      return ExitCode::kInterrupted;
    case core::TrainStatus::kDiverged:
      return ExitCode::kDiverged;
  }
  return ExitCode::kInternal;
}

}  // namespace

int train_run(const TrainJob& a, std::ostream& err) {
  const core::DistEnv env = core::dist_env_from_environment();
  // Read before launching ranks, so a mistake is one error instead of one per rank.
  auto file = config::read_train_file(a.config, a.overrides);
  file.data.validate(a.config);
  if (const int n = ranks_to_launch(a, file.train, env); n > 0) return launch_ranks(a, n, err);
  // From here on SIGTERM/SIGINT ask for a clean stop after the current step; a second one kills.
  // Interrupted calls restart: the data reads and a process group's sockets do not expect EINTR.
  StopSignalOptions stop_options;
  stop_options.signals = {SIGTERM, SIGINT};
  stop_options.second_kills = true;
  stop_options.restart_calls = true;
  const StopSignals stop_signals(stop_options);
  if (a.iterations >= 0) file.train.iterations = a.iterations;
  RuntimeOptions runtime = a.runtime;
  // One GPU per local rank.
  if (env.distributed() && (runtime.device == "auto" || runtime.device == "cuda") && core::cuda_available())
    runtime.device = "cuda:" + std::to_string(env.local_rank % core::cuda_device_count());
  auto device = setup_runtime(runtime);
  auto comm = core::make_communicator(env, device.device);
  const bool rank0 = comm->rank() == 0;

  const fs::path resolved = fs::path(a.run_dir) / "config.resolved.json";
  const json id = config::train_identity(file, comm->world_size());
  check_run_directory(a, id);
  // A save killed mid-write (SIGKILL, a lost node) leaves its temp file, up to the size of the
  // optimizer state, for ever: this run owns the directory now, so it removes them.
  if (rank0)
    for (const auto& path : core::sweep_stale_temp_files(a.run_dir))
      err << "removed " << path << " (a temp file left by a process that no longer runs)\n";

  auto source = train_data::open_image_source(file.data.path, file.model.image_size, file.data.random_flip,
                                              core::derive_seed(file.train.seed, core::kStreamData));
  core::DataSource& data = *source;
  core::TrainerOptions options;
  options.run_dir = a.run_dir;
  options.device = device.device;
  options.stop = stop_signals.count();
  auto on_progress_line = std::make_shared<bool>(false);
  options.log = progress_log(err, on_progress_line);
  options.precision = a.precision;
  options.comm = comm.get();
  options.events_path = a.events;
  options.keep_steps = a.keep_steps;
  const json provenance = task_provenance(device.description);
  for (const auto& item : provenance.items()) options.provenance[item.key()] = item.value().get<std::string>();
  core::Trainer trainer(file.model, file.diffusion, file.train, data, options);
  // Only now, with the data read and the model built, does the directory become this run's.
  if (rank0 && !fs::exists(resolved)) write_file_atomic(resolved.string(), id.dump(1) + "\n");
  if (rank0)
    err << "training " << file.train.method << " on " << data.describe() << ", " << device.description
        << (env.distributed() ? ", " + comm->describe() : "") << "\n";
  auto result = trainer.run(a.resume);
  if (*on_progress_line) err << "\n";
  if (rank0)
    err << "status: " << core::to_string(result.status) << " at step " << result.step
        << (result.message.empty() ? "" : ": " + result.message) << "\n";
  return to_int(exit_code_of(result.status));
}

}  // namespace repro::tasks
