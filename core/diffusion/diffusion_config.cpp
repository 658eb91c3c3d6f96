#include "core/diffusion/diffusion_config.h"

#include "core/diffusion/respace.h"
#include "core/util/errors.h"

namespace repro::core {

BetaSchedule DiffusionConfig::beta_schedule() const {
  if (noise_schedule == "linear") return BetaSchedule::kLinear;
  if (noise_schedule == "cosine") return BetaSchedule::kCosine;
  throw ConfigError("", "diffusion.noise_schedule", "expected one of linear, cosine, got '" + noise_schedule + "'");
}

// The mapping of script_util.create_gaussian_diffusion.
ModelMeanType DiffusionConfig::model_mean_type() const {
  return predict_xstart ? ModelMeanType::kStartX : ModelMeanType::kEpsilon;
}

ModelVarType DiffusionConfig::model_var_type() const {
  if (learn_sigma) return ModelVarType::kLearnedRange;
  return sigma_small ? ModelVarType::kFixedSmall : ModelVarType::kFixedLarge;
}

LossType DiffusionConfig::loss_type() const {
  if (use_kl) return LossType::kRescaledKl;
  if (rescale_learned_sigmas) return LossType::kRescaledMse;
  return LossType::kMse;
}

void DiffusionConfig::validate(const std::string& where) const {
  if (diffusion_steps < 1)
    throw ConfigError(where, "diffusion.diffusion_steps", "expected >= 1, got " + std::to_string(diffusion_steps));
  if (noise_schedule != "linear" && noise_schedule != "cosine")
    throw ConfigError(where, "diffusion.noise_schedule", "expected one of linear, cosine, got '" + noise_schedule + "'");
  try {
    if (!timestep_respacing.empty()) space_timesteps(diffusion_steps, timestep_respacing);
  } catch (const ConfigError& e) {
    throw ConfigError(where, "diffusion.timestep_respacing", e.what());
  }
}

}  // namespace repro::core
