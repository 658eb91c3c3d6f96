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
  EpsScale eps_scale;         // Epsilon Scaling (ADM-ES); the default scales nothing
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

// What one reverse step returns (the reference's p_sample / ddim_sample dicts).
struct ReverseStep {
  torch::Tensor sample;       // x_{t-1} [N, C, H, W]
  torch::Tensor pred_xstart;  // the (clipped) x0 prediction the step used
};

// One ancestral step: x_{t-1} = mean + [t != 0] exp(0.5 log_var) z. `noise` is z.
ReverseStep p_sample(const GaussianDiffusion& diffusion, const ModelFn& model, const torch::Tensor& x,
                     const torch::Tensor& t, const torch::Tensor& noise, bool clip_denoised,
                     const EpsScale& eps_scale = {});

// One DDIM step (eps re-derived from the clipped pred_xstart, so Epsilon Scaling acts through
// it). `noise` is z (unused when eta = 0).
ReverseStep ddim_sample(const GaussianDiffusion& diffusion, const ModelFn& model, const torch::Tensor& x,
                        const torch::Tensor& t, const torch::Tensor& noise, bool clip_denoised, double eta,
                        const EpsScale& eps_scale = {});

// The step `options` names: ancestral, or DDIM with options.eta; options.eps_scale applies.
ReverseStep reverse_step(const GaussianDiffusion& diffusion, const ModelFn& model, const torch::Tensor& x,
                         const torch::Tensor& t, const torch::Tensor& noise, const SampleOptions& options);

// The reverse chain from `x` at index `first` of `diffusion` down to 0: returns x_0, float32, on
// x's device. Every step draws a fresh z of x's shape from `generator` (CPU), the last too.
// Table 1 starts it at x_K = q_sample(x0, K - 1, eps) with first = K - 1. Runs under
// c10::InferenceMode and SingleThreadedBlas; options.progress gets (steps done, first + 1).
torch::Tensor sample_loop_from(const GaussianDiffusion& diffusion, const ModelFn& model, const torch::Tensor& x,
                               int first, torch::Generator& generator, const SampleOptions& options);

// The full reverse chain from x_T ~ N(0, I) drawn from `generator`: returns x_0 of `shape`
// ([N, C, H, W]) on `device`, float32. Every step draws a fresh z from `generator` (also the last,
// as the reference does), so results depend only on the seed. Runs under c10::InferenceMode and
// SingleThreadedBlas; the model must not need gradients.
torch::Tensor sample_loop(const GaussianDiffusion& diffusion, const ModelFn& model, torch::IntArrayRef shape,
                          torch::Generator& generator, const torch::Device& device, const SampleOptions& options);

}  // namespace repro::core
