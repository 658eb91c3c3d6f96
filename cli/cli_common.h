#pragma once
// What the subcommands share beyond the tasks library: this process's command line.
#include <string>
#include <vector>

namespace repro::cli {

// This process's argv, as main() received it (the --nproc launcher re-runs it per rank).
void set_program_args(int argc, char** argv);
const std::vector<std::string>& program_args();

}  // namespace repro::cli
