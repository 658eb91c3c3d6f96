#pragma once
// Shared plumbing for the LibTorch subcommands: building the model and the device from options.
#include <string>
#include <vector>

#include "core/nn/unet.h"
#include "core/util/device.h"
#include "runner/config/model_config_yaml.h"

namespace repro::cli {

struct RuntimeOptions {
  std::string device = "auto";  // auto | cpu | cuda | cuda:N
  int threads = 0;              // intra-op threads; 0 = all cores
};

// This process's argv, as main() received it (the --nproc launcher re-runs it per rank).
void set_program_args(int argc, char** argv);
const std::vector<std::string>& program_args();

// Sets threads, selects the device (ConfigError if CUDA is asked for and absent).
core::DeviceInfo setup_runtime(const RuntimeOptions& options);

// Builds the UNet of `file`, loads `checkpoint` (if non-empty), moves it to `device`, switches it
// to eval mode and converts its torso to half precision on CUDA when the config says use_fp16.
core::UNetModel build_model(const config::ModelFile& file, const std::string& checkpoint, const core::DeviceInfo& device);

}  // namespace repro::cli
