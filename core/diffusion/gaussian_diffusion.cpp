#include "core/diffusion/gaussian_diffusion.h"

#include <cmath>

#include "base/diffusion/respace.h"
#include "base/util/errors.h"
#include "core/diffusion/losses.h"

namespace repro::core {

namespace {
std::vector<int> all_steps(int n) {
  std::vector<int> v(n);
  for (int i = 0; i < n; ++i) v[i] = i;
  return v;
}
}  // namespace

GaussianDiffusion::GaussianDiffusion(const DiffusionConfig& config)
    : GaussianDiffusion(config, get_named_beta_schedule(config.beta_schedule(), config.diffusion_steps),
                        config.timestep_respacing.empty()
                            ? all_steps(config.diffusion_steps)
                            : space_timesteps(config.diffusion_steps, config.timestep_respacing)) {
  config.validate();
}

GaussianDiffusion::GaussianDiffusion(const DiffusionConfig& config, const std::vector<double>& base_betas,
                                     const std::vector<int>& use_timesteps)
    : config_(config),
      base_betas_(base_betas),
      original_num_steps_(static_cast<int>(base_betas.size())),
      timestep_map_(use_timesteps) {
  const DiffusionSchedule base = make_schedule(base_betas);
  schedule_ = make_schedule(respaced_betas(base.alphas_cumprod, use_timesteps));
  const int T = schedule_.num_timesteps();
  log_betas_.resize(T);
  fixed_large_variance_.resize(T);
  fixed_large_log_variance_.resize(T);
  recip_coef1_.resize(T);
  coef2_over_coef1_.resize(T);
  one_minus_alphas_cumprod_.resize(T);
  for (int i = 0; i < T; ++i) {
    one_minus_alphas_cumprod_[i] = 1.0 - schedule_.alphas_cumprod[i];
    log_betas_[i] = std::log(schedule_.betas[i]);
    // FIXED_LARGE uses beta_t, but the posterior variance at t = 0 for a better decoder NLL.
    const double fl = i == 0 ? (T > 1 ? schedule_.posterior_variance[1] : schedule_.betas[0]) : schedule_.betas[i];
    fixed_large_variance_[i] = fl;
    fixed_large_log_variance_[i] = std::log(fl);
    recip_coef1_[i] = 1.0 / schedule_.posterior_mean_coef1[i];
    coef2_over_coef1_[i] = schedule_.posterior_mean_coef2[i] / schedule_.posterior_mean_coef1[i];
  }
}

GaussianDiffusion GaussianDiffusion::respaced(const std::string& section_counts) const {
  DiffusionConfig c = config_;
  c.timestep_respacing = section_counts;
  auto steps =
      section_counts.empty() ? all_steps(original_num_steps_) : space_timesteps(original_num_steps_, section_counts);
  return GaussianDiffusion(c, base_betas_, steps);
}

GaussianDiffusion::TableCache& GaussianDiffusion::TableCache::operator=(const TableCache&) {
  std::lock_guard<std::mutex> lock(mutex_);
  tensors_.clear();
  return *this;
}

torch::Tensor GaussianDiffusion::TableCache::get(const void* key, const torch::Device& device,
                                                 const std::function<torch::Tensor()>& make) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto& tensor = tensors_[{key, device.str()}];
  if (!tensor.defined()) {
    c10::InferenceMode normal_tensors(false);  // usable later with autograd on, too
    tensor = make().to(device);
  }
  return tensor;
}

bool GaussianDiffusion::owns(const std::vector<double>& arr) const {
  const auto& s = schedule_;
  for (const auto* table :
       {&s.betas, &s.alphas_cumprod, &s.alphas_cumprod_prev, &s.alphas_cumprod_next, &s.sqrt_alphas_cumprod,
        &s.sqrt_one_minus_alphas_cumprod, &s.log_one_minus_alphas_cumprod, &s.sqrt_recip_alphas_cumprod,
        &s.sqrt_recipm1_alphas_cumprod, &s.posterior_variance, &s.posterior_log_variance_clipped,
        &s.posterior_mean_coef1, &s.posterior_mean_coef2, &log_betas_, &fixed_large_variance_,
        &fixed_large_log_variance_, &recip_coef1_, &coef2_over_coef1_, &one_minus_alphas_cumprod_}) {
    if (table == &arr) return true;
  }
  return false;
}

torch::Tensor GaussianDiffusion::model_timesteps(const torch::Tensor& t) const {
  auto map = tables_.get(&timestep_map_, t.device(), [&] {
    return torch::tensor(std::vector<int64_t>(timestep_map_.begin(), timestep_map_.end()), torch::kInt64);
  });
  auto mapped = map.index({t.to(torch::kInt64)});
  if (config_.rescale_timesteps) return mapped.to(torch::kFloat32) * (1000.0 / original_num_steps_);
  return mapped;
}

torch::Tensor GaussianDiffusion::extract(const std::vector<double>& arr, const torch::Tensor& t,
                                         torch::IntArrayRef shape) const {
  TORCH_CHECK(t.dim() == 1, "extract: expected t [N], got ", t.sizes());
  auto make = [&arr] {
    return torch::from_blob(const_cast<double*>(arr.data()), {static_cast<int64_t>(arr.size())}, torch::kFloat64)
        .clone();
  };
  auto table = owns(arr) ? tables_.get(&arr, t.device(), make) : make().to(t.device());
  auto res = table.index({t.to(torch::kInt64)}).to(torch::kFloat32);
  while (res.dim() < static_cast<int64_t>(shape.size())) res = res.unsqueeze(-1);
  return res.expand(shape);
}

MeanVariance GaussianDiffusion::q_mean_variance(const torch::Tensor& x_start, const torch::Tensor& t) const {
  const auto& s = schedule_;
  return {extract(s.sqrt_alphas_cumprod, t, x_start.sizes()) * x_start,
          extract(one_minus_alphas_cumprod_, t, x_start.sizes()),
          extract(s.log_one_minus_alphas_cumprod, t, x_start.sizes())};
}

torch::Tensor GaussianDiffusion::q_sample(const torch::Tensor& x_start, const torch::Tensor& t,
                                          const torch::Tensor& noise) const {
  TORCH_CHECK(noise.sizes() == x_start.sizes(), "q_sample: noise ", noise.sizes(), " vs x_start ", x_start.sizes());
  return extract(schedule_.sqrt_alphas_cumprod, t, x_start.sizes()) * x_start +
         extract(schedule_.sqrt_one_minus_alphas_cumprod, t, x_start.sizes()) * noise;
}

MeanVariance GaussianDiffusion::q_posterior_mean_variance(const torch::Tensor& x_start, const torch::Tensor& x_t,
                                                          const torch::Tensor& t) const {
  TORCH_CHECK(x_start.sizes() == x_t.sizes(), "q_posterior_mean_variance: shapes differ");
  const auto& s = schedule_;
  auto mean =
      extract(s.posterior_mean_coef1, t, x_t.sizes()) * x_start + extract(s.posterior_mean_coef2, t, x_t.sizes()) * x_t;
  return {mean, extract(s.posterior_variance, t, x_t.sizes()),
          extract(s.posterior_log_variance_clipped, t, x_t.sizes())};
}

torch::Tensor GaussianDiffusion::predict_xstart_from_eps(const torch::Tensor& x_t, const torch::Tensor& t,
                                                         const torch::Tensor& eps) const {
  return extract(schedule_.sqrt_recip_alphas_cumprod, t, x_t.sizes()) * x_t -
         extract(schedule_.sqrt_recipm1_alphas_cumprod, t, x_t.sizes()) * eps;
}

torch::Tensor GaussianDiffusion::predict_xstart_from_xprev(const torch::Tensor& x_t, const torch::Tensor& t,
                                                           const torch::Tensor& xprev) const {
  return extract(recip_coef1_, t, x_t.sizes()) * xprev - extract(coef2_over_coef1_, t, x_t.sizes()) * x_t;
}

torch::Tensor GaussianDiffusion::predict_eps_from_xstart(const torch::Tensor& x_t, const torch::Tensor& t,
                                                         const torch::Tensor& pred_xstart) const {
  return (extract(schedule_.sqrt_recip_alphas_cumprod, t, x_t.sizes()) * x_t - pred_xstart) /
         extract(schedule_.sqrt_recipm1_alphas_cumprod, t, x_t.sizes());
}

PMeanVariance GaussianDiffusion::p_mean_variance(const torch::Tensor& model_output_in, const torch::Tensor& x,
                                                 const torch::Tensor& t, bool clip_denoised,
                                                 const EpsScale& eps_scale) const {
  TORCH_CHECK(eps_scale.is_identity() || config_.mean_type() == ModelMeanType::kEpsilon,
              "p_mean_variance: Epsilon Scaling needs an epsilon-predicting model");
  const int64_t C = x.size(1);
  const ModelVarType var_type = config_.var_type();
  torch::Tensor model_output = model_output_in;
  torch::Tensor model_variance, model_log_variance;
  if (var_type == ModelVarType::kLearned || var_type == ModelVarType::kLearnedRange) {
    TORCH_CHECK(model_output.size(1) == 2 * C, "p_mean_variance: a learned variance needs ", 2 * C,
                " output channels, got ", model_output.size(1));
    auto parts = model_output.split(C, 1);
    model_output = parts[0];
    if (var_type == ModelVarType::kLearned) {
      model_log_variance = parts[1];
    } else {
      // v in [-1, 1] interpolates log-variance between beta-tilde_t and beta_t (of this chain).
      auto min_log = extract(schedule_.posterior_log_variance_clipped, t, x.sizes());
      auto max_log = extract(log_betas_, t, x.sizes());
      auto frac = (parts[1] + 1) / 2;
      model_log_variance = frac * max_log + (1 - frac) * min_log;
    }
    model_variance = torch::exp(model_log_variance);
  } else {
    TORCH_CHECK(model_output.size(1) == C, "p_mean_variance: a fixed variance needs ", C, " output channels, got ",
                model_output.size(1));
    if (var_type == ModelVarType::kFixedLarge) {
      model_variance = extract(fixed_large_variance_, t, x.sizes());
      model_log_variance = extract(fixed_large_log_variance_, t, x.sizes());
    } else {
      model_variance = extract(schedule_.posterior_variance, t, x.sizes());
      model_log_variance = extract(schedule_.posterior_log_variance_clipped, t, x.sizes());
    }
  }
  auto process_xstart = [&](const torch::Tensor& v) { return clip_denoised ? v.clamp(-1, 1) : v; };
  torch::Tensor pred_xstart, model_mean;
  switch (config_.mean_type()) {
    case ModelMeanType::kPreviousX:
      pred_xstart = process_xstart(predict_xstart_from_xprev(x, t, model_output));
      model_mean = model_output;
      break;
    case ModelMeanType::kStartX:
      pred_xstart = process_xstart(model_output);
      model_mean = q_posterior_mean_variance(pred_xstart, x, t).mean;
      break;
    case ModelMeanType::kEpsilon:
      if (!eps_scale.is_identity()) {
        // lambda_i per row in float64 (as ADM-ES's list of Python floats), then the float32
        // division its `eps / sampling_scaler[i]` does on the CPU.
        std::vector<int64_t> per_row(static_cast<size_t>(model_output.dim()), 1);
        per_row[0] = -1;
        auto lambda = (eps_scale.b + eps_scale.k * t.to(torch::kFloat64)).to(torch::kFloat32).reshape(per_row);
        model_output = model_output / lambda.to(model_output.device());
      }
      pred_xstart = process_xstart(predict_xstart_from_eps(x, t, model_output));
      model_mean = q_posterior_mean_variance(pred_xstart, x, t).mean;
      break;
  }
  return {model_mean, model_variance, model_log_variance, pred_xstart};
}

PMeanVariance GaussianDiffusion::p_mean_variance(const ModelFn& model, const torch::Tensor& x, const torch::Tensor& t,
                                                 bool clip_denoised, const EpsScale& eps_scale) const {
  return p_mean_variance(model(x, model_timesteps(t)), x, t, clip_denoised, eps_scale);
}

VbTerms GaussianDiffusion::vb_terms_bpd(const torch::Tensor& model_output, const torch::Tensor& x_start,
                                        const torch::Tensor& x_t, const torch::Tensor& t, bool clip_denoised) const {
  auto true_post = q_posterior_mean_variance(x_start, x_t, t);
  auto out = p_mean_variance(model_output, x_t, t, clip_denoised);
  const double ln2 = std::log(2.0);
  auto kl = mean_flat(normal_kl(true_post.mean, true_post.log_variance, out.mean, out.log_variance)) / ln2;
  auto decoder_nll = mean_flat(-discretized_gaussian_log_likelihood(x_start, out.mean, 0.5 * out.log_variance)) / ln2;
  return {torch::where(t == 0, decoder_nll, kl), out.pred_xstart};
}

LossTerms GaussianDiffusion::training_losses(const ModelFn& model, const torch::Tensor& x_start, const torch::Tensor& t,
                                             const torch::Tensor& noise, const torch::Tensor& perturbation,
                                             double gamma) const {
  TORCH_CHECK(noise.defined() && noise.sizes() == x_start.sizes(), "training_losses: noise must match x_start");
  torch::Tensor input_noise = noise;
  if (gamma != 0.0) {
    TORCH_CHECK(perturbation.defined() && perturbation.sizes() == noise.sizes(),
                "training_losses: gamma != 0 needs a perturbation of the noise's shape");
    input_noise = noise + gamma * perturbation;  // DDPM-IP: y_t uses eps + gamma * xi
  }
  return training_losses_with_noise(model, x_start, t, input_noise, noise);
}

LossTerms GaussianDiffusion::training_losses_with_noise(const ModelFn& model, const torch::Tensor& x_start,
                                                        const torch::Tensor& t, const torch::Tensor& input_noise,
                                                        const torch::Tensor& target_noise,
                                                        LossReduction reduction) const {
  TORCH_CHECK(target_noise.sizes() == x_start.sizes(), "training_losses: target noise must match x_start");
  const LossType loss_type = config_.loss();
  const ModelVarType var_type = config_.var_type();
  const bool has_vb = loss_type == LossType::kKl || loss_type == LossType::kRescaledKl ||
                      var_type == ModelVarType::kLearned || var_type == ModelVarType::kLearnedRange;
  if (reduction == LossReduction::kSum && has_vb)
    throw ConfigError("", "train.loss_reduction",
                      "sum (DDIM's loss) needs a fixed-variance model trained on the MSE alone "
                      "(model.learn_sigma false, diffusion.use_kl false)");
  const auto x_t = q_sample(x_start, t, input_noise);
  LossTerms terms;
  auto model_output = model(x_t, model_timesteps(t));
  if (loss_type == LossType::kKl || loss_type == LossType::kRescaledKl) {
    terms.vb = vb_terms_bpd(model_output, x_start, x_t, t, false).output;
    terms.loss = loss_type == LossType::kRescaledKl ? terms.vb * num_timesteps() : terms.vb;
    return terms;
  }
  const int64_t C = x_t.size(1);
  if (var_type == ModelVarType::kLearned || var_type == ModelVarType::kLearnedRange) {
    TORCH_CHECK(model_output.size(1) == 2 * C, "training_losses: a learned variance needs ", 2 * C,
                " output channels, got ", model_output.size(1));
    auto parts = model_output.split(C, 1);
    model_output = parts[0];
    // The VB term trains only the variance: the mean head is frozen for it.
    auto frozen_out = torch::cat({parts[0].detach(), parts[1]}, 1);
    terms.vb = vb_terms_bpd(frozen_out, x_start, x_t, t, false).output;
    if (loss_type == LossType::kRescaledMse) terms.vb = terms.vb * (num_timesteps() / 1000.0);
  }
  torch::Tensor target;
  switch (config_.mean_type()) {
    case ModelMeanType::kPreviousX:
      target = q_posterior_mean_variance(x_start, x_t, t).mean;
      break;
    case ModelMeanType::kStartX:
      target = x_start;
      break;
    case ModelMeanType::kEpsilon:
      target = target_noise;
      break;  // the unperturbed eps for DDPM-IP
  }
  TORCH_CHECK(model_output.sizes() == target.sizes(), "training_losses: model output ", model_output.sizes(),
              " does not match the target ", target.sizes());
  terms.mse = reduce_flat((target - model_output).pow(2), reduction);
  terms.loss = terms.vb.defined() ? terms.mse + terms.vb : terms.mse;
  return terms;
}

}  // namespace repro::core
