// repro train: one training run (tasks/train_run.h) in a run directory that holds its resolved
// config, events.jsonl and checkpoints; resumable.
#include <algorithm>
#include <ostream>
#include <string>
#include <vector>

#include "base/train/checkpoint_names.h"
#include "base/util/errors.h"
#include "base/util/strings.h"
#include "cli/cli_common.h"
#include "cli/commands.h"
#include "tasks/train_run.h"

namespace repro::cli {

namespace {

// "100,200" -> {100, 200} (sorted, unique); "none" -> {} (only the latest checkpoint stays).
std::vector<int64_t> parse_keep_steps(const std::string& text) {
  std::vector<int64_t> steps;
  if (text == "none") return steps;
  for (const auto& item : split(text, ',')) {
    const auto step = core::checkpoint_step(trim(item), "", "");  // decimal digits that fit int64
    if (!step)
      throw ConfigError("command line", "--keep-steps",
                        "expected steps separated by commas (or none), got '" + item + "' in '" + text + "'");
    steps.push_back(*step);
  }
  std::sort(steps.begin(), steps.end());
  steps.erase(std::unique(steps.begin(), steps.end()), steps.end());
  return steps;
}

}  // namespace

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
  auto keep_steps = std::make_shared<std::string>();
  cmd->add_option("--keep-steps", *keep_steps,
                  "steps whose model and EMA checkpoints stay, e.g. 100000,200000 (or none): with train.keep "
                  "evaluated (the default) each save then deletes the other steps' model and EMA files and every "
                  "optimizer and state file but the latest's. Without it every checkpoint stays");
  cmd->add_option("--set", a->overrides, "override a config key, e.g. --set train.gamma=0.2 (repeatable)");
  cmd->add_option("--precision", a->precision,
                  "torso precision: auto (fp16/bf16 on CUDA when model.use_fp16, else fp32), fp32, fp16, bf16")
      ->capture_default_str();
  cmd->add_option("--device", a->runtime.device, "auto | cpu | cuda | cuda:N")->capture_default_str();
  cmd->add_option("--threads", a->runtime.threads, "intra-op CPU threads (0 = all cores)")->capture_default_str();
  cmd->callback([a, keep_steps, cmd, &err, exit_code]() {
    if (cmd->count("--keep-steps") > 0) a->keep_steps = parse_keep_steps(*keep_steps);
    a->command_line = program_args();
    *exit_code = tasks::train_run(*a, err);
  });
}

}  // namespace repro::cli
