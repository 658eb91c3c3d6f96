#pragma once
// Beta schedules and every quantity derived from them, in float64 as the reference computes them
// with numpy (gaussian_diffusion.py). Torch-free: GaussianDiffusion turns these into tensors.
#include <cstdint>
#include <vector>

#include "base/diffusion/diffusion_config.h"

namespace repro::core {

// get_named_beta_schedule: "linear" scales 1e-4..0.02 by 1000/T (numpy linspace);
// "cosine" is betas_for_alpha_bar with alpha_bar(t) = cos((t + 0.008) / 1.008 * pi / 2)^2 and
// betas clipped at 0.999 (for T = 1000 only beta_999 is clipped).
std::vector<double> get_named_beta_schedule(BetaSchedule schedule, int num_diffusion_timesteps);

// All derived per-timestep quantities (GaussianDiffusion.__init__). Every vector has size T.
struct DiffusionSchedule {
  std::vector<double> betas;
  std::vector<double> alphas_cumprod;       // prod_{s<=t} (1 - beta_s)
  std::vector<double> alphas_cumprod_prev;  // [1, alphas_cumprod[:-1]]
  std::vector<double> alphas_cumprod_next;  // [alphas_cumprod[1:], 0]
  std::vector<double> sqrt_alphas_cumprod;
  std::vector<double> sqrt_one_minus_alphas_cumprod;
  std::vector<double> log_one_minus_alphas_cumprod;
  std::vector<double> sqrt_recip_alphas_cumprod;
  std::vector<double> sqrt_recipm1_alphas_cumprod;
  std::vector<double> posterior_variance;  // beta_t (1 - abar_{t-1}) / (1 - abar_t)
  // log of posterior_variance with entry 0 (which is 0) replaced by entry 1: the reference's clip.
  std::vector<double> posterior_log_variance_clipped;
  std::vector<double> posterior_mean_coef1;  // beta_t sqrt(abar_{t-1}) / (1 - abar_t)
  std::vector<double> posterior_mean_coef2;  // (1 - abar_{t-1}) sqrt(alpha_t) / (1 - abar_t)

  int num_timesteps() const { return static_cast<int>(betas.size()); }
};

// Precondition: betas non-empty, each in (0, 1]. Throws ConfigError otherwise.
DiffusionSchedule make_schedule(const std::vector<double>& betas);

// SpacedDiffusion: betas of the process that keeps only `use_timesteps` (sorted ascending) of the
// base process, beta'_k = 1 - abar[s_k] / abar[s_{k-1}] with abar[s_{-1}] = 1.
std::vector<double> respaced_betas(const std::vector<double>& base_alphas_cumprod,
                                   const std::vector<int>& use_timesteps);

}  // namespace repro::core
