// repro exposure: exposure bias of a checkpoint measured per step of the reverse chain
// (tasks/exposure_run.h, docs/exposure.md).
#include <ostream>

#include "cli/commands.h"

namespace repro::cli {

void add_exposure_command(CLI::App& app, std::ostream&, std::ostream&) {
  app.add_subcommand("exposure", "Measure exposure bias per sampling step (not implemented yet)");
}

}  // namespace repro::cli
