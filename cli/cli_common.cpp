#include "cli/cli_common.h"

namespace repro::cli {

namespace {
std::vector<std::string> g_program_args;
}

void set_program_args(int argc, char** argv) { g_program_args.assign(argv, argv + argc); }
const std::vector<std::string>& program_args() { return g_program_args; }

}  // namespace repro::cli
