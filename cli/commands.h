#pragma once
// Each subcommand registers its options on the app and runs as a function writing to the given
// streams; main() only parses and maps errors to exit codes.
#include <CLI/CLI.hpp>

#include <cstdint>
#include <iosfwd>
#include <string>

#include "runner/config/model_config_yaml.h"

namespace repro::cli {

void add_version_command(CLI::App& app, std::ostream& out);
void add_model_command(CLI::App& app, std::ostream& out, std::ostream& err);
void add_sample_command(CLI::App& app, std::ostream& out, std::ostream& err);
void add_data_command(CLI::App& app, std::ostream& out, std::ostream& err);
void add_eval_command(CLI::App& app, std::ostream& out, std::ostream& err);
// Sets *exit_code: 0 completed, 5 diverged (NaN), 6 interrupted (checkpoint written).
void add_train_command(CLI::App& app, std::ostream& out, std::ostream& err, int* exit_code);

// The body of `repro train` for `repro task`: trains `config` in `run_dir` up to `iterations`
// steps (resuming from its checkpoints when `resume`), events to `events` ("" = the default). Returns the exit code (0, 5 or 6).
int train_run(const std::string& config, const std::string& run_dir, const std::string& events, int64_t iterations,
              bool resume, int threads, std::ostream& err);

// The body of `repro sample` for `repro task`.
struct SampleJob {
  std::string checkpoint;  // state dict to load
  std::string steps;       // timestep respacing ("100", "ddim50")
  bool ddim = false;
  double eta = 0;
  bool clip_denoised = true;
  int num_samples = 0;
  int batch_size = 64;
  int64_t seed = 0;
  std::string out;         // .npz, arr_0 uint8 NHWC
  int threads = 0;
};
void sample_run(const config::ModelFile& model, const SampleJob& job, std::ostream& err);

void add_run_commands(CLI::App& app, std::ostream& out, std::ostream& err, int* exit_code);
void add_task_command(CLI::App& app, std::ostream& out, std::ostream& err, int* exit_code);
// repro report (exit 0) and repro compare (0, or 8 on a regression or a missing value).
void add_report_command(CLI::App& app, std::ostream& out, std::ostream& err, int* exit_code);
void add_compare_command(CLI::App& app, std::ostream& out, std::ostream& err, int* exit_code);
// repro logs RUN_OR_TASK [-f]: a task's (or a run's tasks') attempt logs, from the store.
void add_logs_command(CLI::App& app, std::ostream& out, std::ostream& err, int* exit_code);
// repro cancel EXPERIMENT_OR_RUN [--force]: stops runs, through the `repro run` working on them
// or, with none alive, in the store and on Slurm directly (exit 0; 2 for an unknown target).
void add_cancel_command(CLI::App& app, std::ostream& out, std::ostream& err, int* exit_code);

// `repro --version` text: version, git commit, LibTorch version, CUDA availability.
void print_version(std::ostream& out);

}  // namespace repro::cli
