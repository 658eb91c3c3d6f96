#pragma once
// Each subcommand registers its options on the app and runs as a function writing to the given
// streams; main() only parses and maps errors to exit codes.
#include <CLI/CLI.hpp>

#include <iosfwd>

namespace repro::cli {

void add_version_command(CLI::App& app, std::ostream& out);
void add_model_command(CLI::App& app, std::ostream& out, std::ostream& err);
void add_sample_command(CLI::App& app, std::ostream& out, std::ostream& err);
void add_data_command(CLI::App& app, std::ostream& out, std::ostream& err);
// Sets *exit_code: 0 completed, 5 diverged (NaN), 6 interrupted (checkpoint written).
void add_train_command(CLI::App& app, std::ostream& out, std::ostream& err, int* exit_code);

// `repro --version` text: version, git commit, LibTorch version, CUDA availability.
void print_version(std::ostream& out);

}  // namespace repro::cli
