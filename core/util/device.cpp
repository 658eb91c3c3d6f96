#include "core/util/device.h"

#include <torch/version.h>

#include <thread>

#include "base/util/errors.h"
#include "base/util/strings.h"

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
  } else if (requested == "cuda" || starts_with(requested, "cuda:")) {
    if (!has_cuda)
      throw ConfigError("", option,
                        "'" + requested + "' requested but CUDA is not available (this LibTorch build " +
                            libtorch_version() + " sees no GPU); use --device cpu or auto");
    int index = 0;
    if (requested.size() > 5) {
      const std::string digits = requested.substr(5);
      if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos)
        throw ConfigError("", option, "expected cuda:N with a GPU index N, got '" + requested + "'");
      index = std::stoi(digits);
    }
    info.device = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
    if (info.device.index() >= cuda_device_count())
      throw ConfigError(
          "", option,
          "'" + requested + "' requested but only " + std::to_string(cuda_device_count()) + " GPU(s) are visible");
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
