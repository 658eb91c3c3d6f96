#pragma once
// Run-time device selection: CUDA when present and asked for, CPU otherwise, with a clear
// message when CUDA was asked for but is absent. Nothing here needs CUDA at build time.
#include <torch/torch.h>

#include <string>

namespace repro::core {

struct DeviceInfo {
  torch::Device device = torch::kCPU;
  std::string description;  // e.g. "cpu (2 threads)" or "cuda:0 (1 of 1 GPUs)"
};

// requested: "auto" (CUDA if available, else CPU), "cpu", "cuda" or "cuda:N".
// Throws repro::ConfigError naming `option` when CUDA is requested but not available.
DeviceInfo select_device(const std::string& requested, const std::string& option = "--device");

// Sets LibTorch's intra-op threads: n > 0 exactly, n <= 0 all hardware threads (LibTorch's
// default here is half of them). Returns the count in effect.
int set_num_threads(int n);

bool cuda_available();
int cuda_device_count();
std::string libtorch_version();  // "1.13.0" as compiled

// The half type a model's torso runs in on `device`: kFloat32 on CPU (always), kHalf or
// kBFloat16 on CUDA when use_fp16 (precision "fp16" / "bf16").
torch::ScalarType torso_dtype_for(const torch::Device& device, bool use_fp16, const std::string& precision);

// Float32 convolutions and matmuls on CUDA while it lives: LibTorch lets cuDNN use TF32 (10-bit
// mantissa) by default. Turns TF32 off for cuDNN and cuBLAS and restores both global flags after.
// Used where float32 must be float32: the FID feature extractor (metrics/inception) and the gpu
// tier's float32 parity tests. Inline, so that repro_features, which does not link repro_core,
// uses this one copy.
class NoTf32 {
 public:
  NoTf32() : cudnn_(at::globalContext().allowTF32CuDNN()), cublas_(at::globalContext().allowTF32CuBLAS()) {
    at::globalContext().setAllowTF32CuDNN(false);
    at::globalContext().setAllowTF32CuBLAS(false);
  }
  ~NoTf32() {
    at::globalContext().setAllowTF32CuDNN(cudnn_);
    at::globalContext().setAllowTF32CuBLAS(cublas_);
  }
  NoTf32(const NoTf32&) = delete;
  NoTf32& operator=(const NoTf32&) = delete;

 private:
  bool cudnn_, cublas_;
};

}  // namespace repro::core
