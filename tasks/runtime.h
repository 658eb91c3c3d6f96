#pragma once
// What the LibTorch commands and tasks share: the device and threads from options, the model
// built from a config and a checkpoint, output folders and elapsed time.
#include <chrono>
#include <string>
#include <vector>

#include "config/model_config_yaml.h"
#include "core/nn/unet.h"
#include "core/util/device.h"

namespace repro::tasks {

struct RuntimeOptions {
  std::string device = "auto";  // auto | cpu | cuda | cuda:N
  int threads = 0;              // intra-op threads; 0 = all cores
};

// Sets threads, selects the device (ConfigError if CUDA is asked for and absent).
core::DeviceInfo setup_runtime(const RuntimeOptions& options);

// Builds the UNet of `file`, loads `checkpoint` (if non-empty), moves it to `device`, switches it
// to eval mode and converts its torso to half precision on CUDA when the config says use_fp16.
core::UNetModel build_model(const config::ModelFile& file, const std::string& checkpoint,
                            const core::DeviceInfo& device);

// Creates the parent folder of each non-empty path: before a long computation, so that a bad
// output path fails first. Throws IoError naming the path.
void create_parent_folders(const std::vector<std::string>& paths);

// Seconds of the steady clock since `start` (progress lines and the closing summary).
double seconds_since(std::chrono::steady_clock::time_point start);

}  // namespace repro::tasks
