// repro train: one training run (tasks/train_run.h) in a run directory that holds its resolved
// config, events.jsonl and checkpoints; resumable.
#include <ostream>

#include "cli/cli_common.h"
#include "cli/commands.h"
#include "tasks/train_run.h"

namespace repro::cli {

void add_train_command(CLI::App& app, std::ostream& out, std::ostream& err, int* exit_code) {
  auto a = std::make_shared<tasks::TrainJob>();
  auto* cmd = app.add_subcommand("train", "Train one run (adm, adm-ip, ddpm-y, adm-gp, adm-wd); resumable");
  cmd->add_option("--config", a->config, "training YAML (model:, diffusion:, train:, data:)")->required();
  cmd->add_option("--run-dir", a->run_dir, "run directory: config.resolved.json, events.jsonl, checkpoints/")
      ->required();
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
  cmd->callback([a, &err, exit_code]() {
    a->command_line = program_args();
    *exit_code = tasks::train_run(*a, err);
  });
}

}  // namespace repro::cli
