#pragma once
// Each subcommand registers its options on the app and runs as a function writing to the given
// streams; main() only parses and maps errors to exit codes.
#include <CLI/CLI.hpp>

#include <iosfwd>

namespace repro::cli {

void add_version_command(CLI::App& app, std::ostream& out);
void add_model_command(CLI::App& app, std::ostream& out, std::ostream& err);
void add_sample_command(CLI::App& app, std::ostream& out, std::ostream& err);
// repro exposure: eps norms and x_t variance of the sampling chain against the forward process.
void add_exposure_command(CLI::App& app, std::ostream& out, std::ostream& err);
void add_data_command(CLI::App& app, std::ostream& out, std::ostream& err);
void add_eval_command(CLI::App& app, std::ostream& out, std::ostream& err);
// Sets *exit_code: ExitCode kOk, kDiverged (NaN) or kInterrupted (checkpoint written).
void add_train_command(CLI::App& app, std::ostream& out, std::ostream& err, int* exit_code);

void add_run_commands(CLI::App& app, std::ostream& out, std::ostream& err, int* exit_code);
void add_task_command(CLI::App& app, std::ostream& out, std::ostream& err, int* exit_code);
// repro report (exit 0) and repro compare (0, or ExitCode::kRegression on a regression or a
// missing value).
void add_report_command(CLI::App& app, std::ostream& out, std::ostream& err, int* exit_code);
void add_compare_command(CLI::App& app, std::ostream& out, std::ostream& err, int* exit_code);
// repro logs RUN_OR_TASK [-f]: a task's (or a run's tasks') attempt logs, from the store.
void add_logs_command(CLI::App& app, std::ostream& out, std::ostream& err, int* exit_code);
// repro cancel EXPERIMENT_OR_RUN [--force]: stops runs, through the `repro run` working on them
// or, with none alive, in the store and on Slurm directly (exit 0; 2 for an unknown target).
void add_cancel_command(CLI::App& app, std::ostream& out, std::ostream& err, int* exit_code);

// repro db migrate: upgrades the store's schema after writing a backup (read-only commands never do).
void add_db_command(CLI::App& app, std::ostream& out, std::ostream& err, int* exit_code);
// repro show RUN_OR_TASK: config, provenance, tasks, results, artifacts and logs of one run or task.
void add_show_command(CLI::App& app, std::ostream& out, std::ostream& err, int* exit_code);
// repro results [EXPERIMENT]: one row per run x sampling setting (axes and metric columns).
void add_results_command(CLI::App& app, std::ostream& out, std::ostream& err, int* exit_code);
// repro diff RUN_A RUN_B: the config difference and the metric difference of two runs.
void add_diff_command(CLI::App& app, std::ostream& out, std::ostream& err, int* exit_code);
// repro export mlflow DIR: the store as an MLflow file store.
void add_export_command(CLI::App& app, std::ostream& out, std::ostream& err, int* exit_code);

// repro gc [EXPERIMENT] [--dry-run]: deletes the checkpoints each run's train.keep policy does not
// keep (never one a pending sample task reads, nor what a resume needs) and reports freed bytes.
void add_gc_command(CLI::App& app, std::ostream& out, std::ostream& err, int* exit_code);

// `repro --version` text: version, git commit, LibTorch version, CUDA availability.
void print_version(std::ostream& out);

}  // namespace repro::cli
