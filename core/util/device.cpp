#include "core/util/device.h"

#include <torch/version.h>

#include <thread>

#include "core/util/errors.h"

namespace repro::core {

bool cuda_available() { return torch::cuda::is_available(); }
int cuda_device_count() { return static_cast<int>(torch::cuda::device_count()); }

std::string libtorch_version() { return TORCH_VERSION; }

DeviceInfo select_device(const std::string& requested, const std::string& option) {
  DeviceInfo info;
  const bool has_cuda = cuda_available();
  if (requested == "auto") {
    info.device = has_cuda ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
  } else if (requested == "cpu") {
    info.device = torch::kCPU;
  } else if (requested == "cuda" || requested.rfind("cuda:", 0) == 0) {
    if (!has_cuda)
      throw ConfigError("", option,
                        "'" + requested + "' requested but CUDA is not available (this LibTorch build " +
                            libtorch_version() + " sees no GPU); use --device cpu or auto");
    info.device = torch::Device(requested);
    if (info.device.index() >= cuda_device_count())
      throw ConfigError("", option, "'" + requested + "' requested but only " +
                                        std::to_string(cuda_device_count()) + " GPU(s) are visible");
  } else {
    throw ConfigError("", option, "expected auto, cpu, cuda or cuda:N, got '" + requested + "'");
  }
  if (info.device.is_cuda()) {
    info.description = info.device.str() + " (" + std::to_string(cuda_device_count()) + " GPU(s) visible)";
  } else {
    info.description = "cpu (" + std::to_string(torch::get_num_threads()) + " threads)";
  }
  return info;
}

int set_num_threads(int n) {
  if (n <= 0) n = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  torch::set_num_threads(n);
  return torch::get_num_threads();
}

torch::ScalarType torso_dtype_for(const torch::Device& device, bool use_fp16, const std::string& precision) {
  if (!device.is_cuda() || !use_fp16) return torch::kFloat32;
  return precision == "bf16" ? torch::kBFloat16 : torch::kHalf;
}

}  // namespace repro::core
