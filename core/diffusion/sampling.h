#pragma once
// Samplers of gaussian_diffusion.py: ancestral (p_sample_loop) and DDIM (ddim_sample_loop), on any
// (respaced) process. The noise comes from a CPU generator seeded by the caller and is moved to
// the model's device, so a seed gives the same samples on every device and thread count.
#include <torch/torch.h>

#include <functional>

#include "core/diffusion/gaussian_diffusion.h"

namespace repro::core {

struct SampleOptions {
  bool ddim = false;          // DDIM update instead of ancestral sampling
  double eta = 0.0;           // DDIM stochasticity: 0 = deterministic, 1 = DDPM-like variance
  bool clip_denoised = true;  // clamp pred_xstart to [-1, 1] (the reference's sampling default)
  // Called after each reverse step with (steps done, total steps).
  std::function<void(int, int)> progress;
};

// While alive, OpenBLAS's own thread pool runs one thread (the previous count is restored after).
// LibTorch parallelises around BLAS with its OpenMP threads, while OpenBLAS's idle workers
// busy-wait for a while after every call (the timestep-embedding Linear of each ResBlock, the
// attention products) and take a core from the convolutions that follow: on 2 cores the paper
// model's sampling step ran about 1.35x faster without them (docs/benchmarks.md). A no-op where the
// BLAS is not OpenBLAS (MKL in the CUDA builds). Process-wide: not for concurrent BLAS work.
class SingleThreadedBlas {
 public:
  SingleThreadedBlas();
  ~SingleThreadedBlas();
  SingleThreadedBlas(const SingleThreadedBlas&) = delete;
  SingleThreadedBlas& operator=(const SingleThreadedBlas&) = delete;

 private:
  int previous_ = 0;  // 0: nothing to restore
};

// One ancestral step: x_{t-1} = mean + [t != 0] exp(0.5 log_var) z. `noise` is z.
torch::Tensor p_sample(const GaussianDiffusion& diffusion, const ModelFn& model, const torch::Tensor& x,
                       const torch::Tensor& t, const torch::Tensor& noise, bool clip_denoised);

// One DDIM step (eps re-derived from the clipped pred_xstart). `noise` is z (unused when eta = 0).
torch::Tensor ddim_sample(const GaussianDiffusion& diffusion, const ModelFn& model, const torch::Tensor& x,
                          const torch::Tensor& t, const torch::Tensor& noise, bool clip_denoised, double eta);

// The full reverse chain from x_T ~ N(0, I) drawn from `generator`: returns x_0 of `shape`
// ([N, C, H, W]) on `device`, float32. Every step draws a fresh z from `generator` (also the last,
// as the reference does), so results depend only on the seed. Runs under c10::InferenceMode and
// SingleThreadedBlas; the model must not need gradients.
torch::Tensor sample_loop(const GaussianDiffusion& diffusion, const ModelFn& model, torch::IntArrayRef shape,
                          torch::Generator& generator, const torch::Device& device, const SampleOptions& options);

}  // namespace repro::core
