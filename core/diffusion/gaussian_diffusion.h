#pragma once
// GaussianDiffusion (gaussian_diffusion.py + respace.py SpacedDiffusion): the forward process,
// the model's reverse distribution, and the training loss terms, on the full or a respaced chain.
#include <torch/torch.h>

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "base/diffusion/diffusion_config.h"
#include "base/diffusion/eps_scale.h"
#include "base/diffusion/schedule.h"
#include "core/diffusion/losses.h"

namespace repro::core {

// The network as the diffusion sees it: (x_t [N, C, H, W], timesteps [N]) -> raw output.
// The timesteps passed are already mapped to the ORIGINAL process's indices (and rescaled if
// rescale_timesteps), as the reference's _WrappedModel does.
using ModelFn = std::function<torch::Tensor(const torch::Tensor& x, const torch::Tensor& timesteps)>;

struct MeanVariance {
  torch::Tensor mean, variance, log_variance;
};

struct PMeanVariance {
  torch::Tensor mean, variance, log_variance, pred_xstart;
};

struct VbTerms {
  torch::Tensor output;       // [N] bits/dim: KL for t > 0, decoder NLL for t == 0
  torch::Tensor pred_xstart;  // [N, C, H, W]
};

struct LossTerms {
  torch::Tensor loss;  // [N] per-sample training loss (mse + vb, or the KL)
  torch::Tensor mse;   // [N] undefined for KL losses
  torch::Tensor vb;    // [N] bits/dim; undefined unless the variance is learned or the loss is KL (then
                       // the raw term, before the KL rescale by T)
};

class GaussianDiffusion {
 public:
  // The process of `config`: its beta schedule over diffusion_steps, respaced to
  // config.timestep_respacing when that is non-empty. Throws ConfigError for bad settings.
  explicit GaussianDiffusion(const DiffusionConfig& config);

  // The same base process respaced to `section_counts` (see space_timesteps).
  GaussianDiffusion respaced(const std::string& section_counts) const;

  int num_timesteps() const { return schedule_.num_timesteps(); }
  int original_num_steps() const { return original_num_steps_; }
  const DiffusionSchedule& schedule() const { return schedule_; }
  const std::vector<int>& timestep_map() const { return timestep_map_; }
  const DiffusionConfig& config() const { return config_; }

  // Indices t of this (possibly respaced) process -> what the model is called with.
  torch::Tensor model_timesteps(const torch::Tensor& t) const;

  // arr[t] gathered in float64, cast to float32 and broadcast to `shape` (_extract_into_tensor).
  // The tables of this process (schedule() and the private ones) become tensors once per device,
  // not once per call: on CUDA each copy would be a host-to-device transfer every sampling step.
  torch::Tensor extract(const std::vector<double>& arr, const torch::Tensor& t, torch::IntArrayRef shape) const;

  MeanVariance q_mean_variance(const torch::Tensor& x_start, const torch::Tensor& t) const;
  // sqrt(abar_t) x_start + sqrt(1 - abar_t) noise. The trainer passes its own (perturbed) noise.
  torch::Tensor q_sample(const torch::Tensor& x_start, const torch::Tensor& t, const torch::Tensor& noise) const;
  MeanVariance q_posterior_mean_variance(const torch::Tensor& x_start, const torch::Tensor& x_t,
                                         const torch::Tensor& t) const;

  // The reverse distribution from a raw model output [N, C or 2C, H, W] at x_t, t. With
  // `eps_scale` (Epsilon Scaling), an epsilon model's eps of row n is divided by
  // eps_scale.at(t[n]) before x0 is predicted from it, as ADM-ES's _predict_xstart_from_eps; the
  // variance is untouched. Identity: the unscaled computation, bit for bit. Other mean types
  // throw (TORCH_CHECK): ADM-ES scales only an epsilon.
  PMeanVariance p_mean_variance(const torch::Tensor& model_output, const torch::Tensor& x, const torch::Tensor& t,
                                bool clip_denoised, const EpsScale& eps_scale = {}) const;
  // Same, calling the model (with mapped timesteps) first.
  PMeanVariance p_mean_variance(const ModelFn& model, const torch::Tensor& x, const torch::Tensor& t,
                                bool clip_denoised, const EpsScale& eps_scale = {}) const;

  torch::Tensor predict_xstart_from_eps(const torch::Tensor& x_t, const torch::Tensor& t,
                                        const torch::Tensor& eps) const;
  torch::Tensor predict_xstart_from_xprev(const torch::Tensor& x_t, const torch::Tensor& t,
                                          const torch::Tensor& xprev) const;
  torch::Tensor predict_eps_from_xstart(const torch::Tensor& x_t, const torch::Tensor& t,
                                        const torch::Tensor& pred_xstart) const;

  VbTerms vb_terms_bpd(const torch::Tensor& model_output, const torch::Tensor& x_start, const torch::Tensor& x_t,
                       const torch::Tensor& t, bool clip_denoised) const;

  // training_losses with the DDPM-IP input perturbation: the model sees
  // y_t = q_sample(x_start, t, noise + gamma * perturbation) while the epsilon target stays
  // `noise`; the VB term is computed at y_t too, as the reference does. `perturbation` may be
  // undefined when gamma == 0. `noise` must be given (the trainer owns the RNG).
  LossTerms training_losses(const ModelFn& model, const torch::Tensor& x_start, const torch::Tensor& t,
                            const torch::Tensor& noise, const torch::Tensor& perturbation = torch::Tensor(),
                            double gamma = 0.0) const;

  // The general form the training methods build on: the model sees
  // q_sample(x_start, t, input_noise) and an epsilon model regresses `target_noise`.
  // ADM: (eps, eps); ADM-IP: (eps + gamma xi, eps); DDPM-y: (eps + gamma xi, (eps + gamma xi) / sqrt(1 + gamma^2)).
  // `reduction` reduces the squared error over C x H x W (mean_flat, or DDIM's sum); kSum has no
  // meaning for a VB term, so with a learned variance or a KL loss it throws ConfigError.
  LossTerms training_losses_with_noise(const ModelFn& model, const torch::Tensor& x_start, const torch::Tensor& t,
                                       const torch::Tensor& input_noise, const torch::Tensor& target_noise,
                                       LossReduction reduction = LossReduction::kMean) const;

 private:
  GaussianDiffusion(const DiffusionConfig& config, const std::vector<double>& base_betas,
                    const std::vector<int>& use_timesteps);

  DiffusionConfig config_;
  std::vector<double> base_betas_;
  int original_num_steps_ = 0;
  std::vector<int> timestep_map_;
  DiffusionSchedule schedule_;
  std::vector<double> log_betas_;             // log(beta_t): the learned-range upper end
  std::vector<double> fixed_large_variance_;  // [posterior_variance_1, betas_1..]: FIXED_LARGE
  std::vector<double> fixed_large_log_variance_;
  std::vector<double> recip_coef1_, coef2_over_coef1_;
  std::vector<double> one_minus_alphas_cumprod_;  // in float64 before the cast, as the reference

  // Tensor copies of this object's tables, per (table, device); a copied or assigned
  // GaussianDiffusion starts empty, so keys only ever name its own, never-modified members.
  class TableCache {
   public:
    TableCache() = default;
    TableCache(const TableCache&) {}
    TableCache& operator=(const TableCache&);
    // The tensor cached under (key, device), made by make() on first use.
    torch::Tensor get(const void* key, const torch::Device& device, const std::function<torch::Tensor()>& make);

   private:
    std::mutex mutex_;
    std::map<std::pair<const void*, std::string>, torch::Tensor> tensors_;
  };
  bool owns(const std::vector<double>& arr) const;  // arr is one of this object's tables
  mutable TableCache tables_;
};

}  // namespace repro::core
