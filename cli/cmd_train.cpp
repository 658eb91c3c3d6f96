// repro train: one training run (ADM, ADM-IP and the paper's variants) in a run directory that
// holds its resolved config, events.jsonl and checkpoints; resumable.
#include <nlohmann/json.hpp>

#include <atomic>
#include <csignal>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <thread>
#include <ostream>

#include "cli/cli_common.h"
#include "cli/commands.h"
#include "cli/local_launcher.h"
#include "cli/provenance.h"
#include "core/train/train_state.h"
#include "core/train/trainer.h"
#include "core/util/errors.h"
#include "core/util/file_io.h"
#include "runner/config/train_config_yaml.h"
#include "runner/config/train_identity.h"

namespace repro::cli {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::atomic<bool> g_stop{false};
// The first signal asks for a clean stop; a second one kills (the default action is restored).
extern "C" void on_train_stop_signal(int sig) {
  g_stop.store(true);
  std::signal(sig, SIG_DFL);
}

struct TrainArgs {
  std::string config, run_dir;
  std::vector<std::string> overrides;
  int64_t iterations = -1;
  bool resume = false;
  int nproc = 0;  // 0: train.world_size, else 1
  std::string events;  // "" = run_dir/events.jsonl
  std::string precision = "auto";
  RuntimeOptions runtime;
};

// How many local ranks this process must launch (0: it trains itself): --nproc, else the
// config's train.world_size when no launcher (torchrun, srun, an earlier --nproc) started it.
int ranks_to_launch(const TrainArgs& a, const core::TrainConfig& t, const core::DistEnv& env) {
  const std::string launched = env.distributed() ? "rank " + std::to_string(env.rank) + " of " +
                                                       std::to_string(env.world_size) + " (" + env.source + ")"
                                                 : "";
  if (env.distributed() && a.nproc > 0)
    throw ConfigError("command line", "--nproc", "this process is already " + launched + "; drop --nproc");
  if (env.distributed() && t.world_size > 0 && t.world_size != env.world_size)
    throw ConfigError(a.config, "train.world_size",
                      "the run trains with " + std::to_string(t.world_size) + " processes, this process is " + launched);
  if (env.distributed()) return 0;
  if (a.nproc > 0 && t.world_size > 0 && a.nproc != t.world_size)
    throw ConfigError("command line", "--nproc",
                      std::to_string(a.nproc) + " processes contradict train.world_size " + std::to_string(t.world_size) +
                          " in " + a.config + "; drop --nproc");
  const int n = a.nproc > 0 ? a.nproc : t.planned_world_size();
  return n > 1 ? n : 0;
}

int run_train(const TrainArgs& a, std::ostream& err) {
  const core::DistEnv env = core::dist_env_from_environment();
  // Read before launching ranks, so a mistake is one error instead of one per rank.
  auto file = config::read_train_file(a.config, a.overrides);
  if (const int n = ranks_to_launch(a, file.train, env); n > 0) {
    const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    const int threads = a.runtime.threads > 0 ? a.runtime.threads : std::max(1, cores / n);
    return launch_local_ranks(n, without_options(program_args(), {"--nproc"}), threads, err);
  }
  // From here on SIGTERM/SIGINT ask for a clean stop (checkpoint, then exit 6) instead of killing.
  std::signal(SIGTERM, on_train_stop_signal);
  std::signal(SIGINT, on_train_stop_signal);
  if (a.iterations >= 0) file.train.iterations = a.iterations;
  RuntimeOptions runtime = a.runtime;
  // One GPU per local rank.
  if (env.distributed() && (runtime.device == "auto" || runtime.device == "cuda") && core::cuda_available())
    runtime.device = "cuda:" + std::to_string(env.local_rank % core::cuda_device_count());
  auto device = setup_runtime(runtime);
  auto comm = core::make_communicator(env, device.device);
  const bool rank0 = comm->rank() == 0;

  // The run directory belongs to one config: refuse to mix.
  const fs::path run_dir(a.run_dir);
  const fs::path resolved = run_dir / "config.resolved.json";
  const json id = config::train_identity(file, comm->world_size());
  if (fs::exists(resolved)) {
    json existing = json::parse(read_file(resolved.string()));
    if (existing != id) {
      std::string diff;
      for (auto it = id.begin(); it != id.end(); ++it)
        for (auto kv = it->begin(); kv != it->end(); ++kv)
          if (!existing.contains(it.key()) || existing[it.key()].value(kv.key(), json()) != kv.value())
            diff += (diff.empty() ? "" : ", ") + it.key() + "." + kv.key();
      throw ConfigError(a.run_dir, "", "this run directory belongs to a different config (differs in: " + diff +
                                           "); use a new --run-dir");
    }
    if (!a.resume && fs::exists(run_dir / "checkpoints") && !fs::is_empty(run_dir / "checkpoints"))
      throw ConfigError(a.run_dir, "--resume", "the run directory already has checkpoints: pass --resume to continue it");
  }
  // A save killed mid-write (SIGKILL, a lost node) leaves its temp file, up to the size of the
  // optimizer state, for ever: this run owns the directory now, so it removes them.
  if (rank0)
    for (const auto& path : core::sweep_stale_temp_files(a.run_dir))
      err << "removed " << path << " (a temp file left by a process that no longer runs)\n";

  auto source = core::open_image_source(file.data.path, file.model.image_size, file.data.random_flip,
                                       core::derive_seed(file.train.seed, core::kStreamData));
  core::DataSource& data = *source;
  core::TrainerOptions options;
  options.run_dir = a.run_dir;
  options.device = device.device;
  options.stop = &g_stop;
  // On a terminal the progress lines ("step ...") rewrite one line; in a log file each is a line.
  const bool tty = ::isatty(STDERR_FILENO) && &err == &std::cerr;
  auto on_progress_line = std::make_shared<bool>(false);
  options.log = [&err, tty, on_progress_line](const std::string& s) {
    const bool progress = tty && s.rfind("step ", 0) == 0;
    if (progress) {
      err << "\r" << s << "\033[K" << std::flush;
    } else {
      err << (*on_progress_line ? "\n" : "") << s << "\n";
    }
    *on_progress_line = progress;
  };
  options.precision = a.precision;
  options.comm = comm.get();
  options.events_path = a.events;
  const nlohmann::json provenance = task_provenance(device.description);
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
  switch (result.status) {
    case core::TrainStatus::kCompleted: return 0;
    case core::TrainStatus::kInterrupted: return 6;
    case core::TrainStatus::kDiverged: return 5;
  }
  return 1;
}

}  // namespace

int train_run(const std::string& config, const std::string& run_dir, const std::string& events, int64_t iterations,
              bool resume, int threads, std::ostream& err) {
  TrainArgs a;
  a.events = events;
  a.config = config;
  a.run_dir = run_dir;
  a.iterations = iterations;
  a.resume = resume;
  a.runtime.threads = threads;
  return run_train(a, err);
}

void add_train_command(CLI::App& app, std::ostream& out, std::ostream& err, int* exit_code) {
  auto a = std::make_shared<TrainArgs>();
  auto* cmd = app.add_subcommand("train", "Train one run (adm, adm-ip, ddpm-y, adm-gp, adm-wd); resumable");
  cmd->add_option("--config", a->config, "training YAML (model:, diffusion:, train:, data:)")->required();
  cmd->add_option("--run-dir", a->run_dir, "run directory: config.resolved.json, events.jsonl, checkpoints/")->required();
  cmd->add_option("--iterations", a->iterations, "total optimizer steps (overrides train.iterations)");
  cmd->add_flag("--resume", a->resume, "continue from the newest valid checkpoint of --run-dir");
  cmd->add_option("--events", a->events, "events file (default: RUN_DIR/events.jsonl)");
  cmd->add_option("--nproc", a->nproc,
                  "data-parallel processes to start on this machine (Gloo on CPUs, one GPU each on CUDA); "
                  "train.batch_size is per process. Default: the config's train.world_size, else 1. Under "
                  "torchrun or srun leave it out: RANK/WORLD_SIZE or SLURM_PROCID/SLURM_NTASKS are read from "
                  "the environment")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--set", a->overrides, "override a config key, e.g. --set train.gamma=0.2 (repeatable)");
  cmd->add_option("--precision", a->precision,
                  "torso precision: auto (fp16/bf16 on CUDA when model.use_fp16, else fp32), fp32, fp16, bf16")
      ->capture_default_str();
  cmd->add_option("--device", a->runtime.device, "auto | cpu | cuda | cuda:N")->capture_default_str();
  cmd->add_option("--threads", a->runtime.threads, "intra-op CPU threads (0 = all cores)")->capture_default_str();
  cmd->callback([a, &err, exit_code]() { *exit_code = run_train(*a, err); });
}

}  // namespace repro::cli
