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

// One ancestral step: x_{t-1} = mean + [t != 0] exp(0.5 log_var) z. `noise` is z.
torch::Tensor p_sample(const GaussianDiffusion& diffusion, const ModelFn& model, const torch::Tensor& x,
                       const torch::Tensor& t, const torch::Tensor& noise, bool clip_denoised);

// One DDIM step (eps re-derived from the clipped pred_xstart). `noise` is z (unused when eta = 0).
torch::Tensor ddim_sample(const GaussianDiffusion& diffusion, const ModelFn& model, const torch::Tensor& x,
                          const torch::Tensor& t, const torch::Tensor& noise, bool clip_denoised, double eta);

// The full reverse chain from x_T ~ N(0, I) drawn from `generator`: returns x_0 of `shape`
// ([N, C, H, W]) on `device`, float32. Every step draws a fresh z from `generator` (also the last,
// as the reference does), so results depend only on the seed.
torch::Tensor sample_loop(const GaussianDiffusion& diffusion, const ModelFn& model, torch::IntArrayRef shape,
                          torch::Generator& generator, const torch::Device& device, const SampleOptions& options);

}  // namespace repro::core
