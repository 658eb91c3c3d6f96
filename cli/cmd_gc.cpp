// repro gc [EXPERIMENT] [--dry-run]: applies each run's train.keep policy to its checkpoints.
#include "cli/commands.h"

namespace repro::cli {

void add_gc_command(CLI::App& app, std::ostream& out, std::ostream& err, int* exit_code) {
  (void)app;
  (void)out;
  (void)err;
  (void)exit_code;
}

}  // namespace repro::cli
