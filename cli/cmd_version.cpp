#include <ostream>

#include "cli/commands.h"
#include "core/util/device.h"
#include "repro/build_info.h"

namespace repro::cli {

void print_version(std::ostream& out) {
  out << "repro " << kVersion << "\n"
      << "git commit: " << kGitCommit << "\n"
      << "LibTorch: " << core::libtorch_version() << "\n";
  if (core::cuda_available())
    out << "CUDA: available (" << core::cuda_device_count() << " GPU(s))\n";
  else
    out << "CUDA: not available (CPU only; GPU code paths are selected at run time when a GPU is present)\n";
}

void add_version_command(CLI::App& app, std::ostream& out) {
  auto* cmd = app.add_subcommand("version", "Print version, git commit, LibTorch version and CUDA availability");
  cmd->callback([&out]() { print_version(out); });
}

}  // namespace repro::cli
