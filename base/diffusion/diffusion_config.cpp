#include "base/diffusion/diffusion_config.h"

#include <initializer_list>
#include <utility>

#include "base/diffusion/respace.h"
#include "base/util/errors.h"
#include "base/util/strings.h"

namespace repro::core {

BetaSchedule DiffusionConfig::beta_schedule() const {
  if (noise_schedule == "linear") return BetaSchedule::kLinear;
  if (noise_schedule == "cosine") return BetaSchedule::kCosine;
  throw ConfigError("", "diffusion.noise_schedule", "expected one of linear, cosine, got '" + noise_schedule + "'");
}

namespace {
template <typename E>
E pick(const std::string& key, const std::string& value, std::initializer_list<std::pair<const char*, E>> choices) {
  for (const auto& [name, e] : choices)
    if (value == name) return e;
  const std::string names = join(choices, ", ", [](const auto& choice) { return std::string(choice.first); });
  throw ConfigError("", "diffusion." + key, "expected one of " + names + " (or empty), got '" + value + "'");
}
}  // namespace

// Without overrides: the mapping of script_util.create_gaussian_diffusion.
ModelMeanType DiffusionConfig::mean_type() const {
  if (!model_mean_type.empty())
    return pick<ModelMeanType>("model_mean_type", model_mean_type,
                               {{"epsilon", ModelMeanType::kEpsilon},
                                {"start_x", ModelMeanType::kStartX},
                                {"previous_x", ModelMeanType::kPreviousX}});
  return predict_xstart ? ModelMeanType::kStartX : ModelMeanType::kEpsilon;
}

ModelVarType DiffusionConfig::var_type() const {
  if (!model_var_type.empty())
    return pick<ModelVarType>("model_var_type", model_var_type,
                              {{"learned", ModelVarType::kLearned},
                               {"learned_range", ModelVarType::kLearnedRange},
                               {"fixed_small", ModelVarType::kFixedSmall},
                               {"fixed_large", ModelVarType::kFixedLarge}});
  if (learn_sigma) return ModelVarType::kLearnedRange;
  return sigma_small ? ModelVarType::kFixedSmall : ModelVarType::kFixedLarge;
}

LossType DiffusionConfig::loss() const {
  if (!loss_type.empty())
    return pick<LossType>("loss_type", loss_type,
                          {{"mse", LossType::kMse},
                           {"rescaled_mse", LossType::kRescaledMse},
                           {"kl", LossType::kKl},
                           {"rescaled_kl", LossType::kRescaledKl}});
  if (use_kl) return LossType::kRescaledKl;
  if (rescale_learned_sigmas) return LossType::kRescaledMse;
  return LossType::kMse;
}

void DiffusionConfig::validate(const std::string& where) const {
  // The clipped posterior log-variance reads entry 1: a chain needs at least two steps.
  if (diffusion_steps < 2)
    throw ConfigError(where, "diffusion.diffusion_steps", "expected >= 2, got " + std::to_string(diffusion_steps));
  if (noise_schedule != "linear" && noise_schedule != "cosine")
    throw ConfigError(where, "diffusion.noise_schedule",
                      "expected one of linear, cosine, got '" + noise_schedule + "'");
  mean_type();
  loss();
  const ModelVarType v = var_type();
  const bool learned = v == ModelVarType::kLearned || v == ModelVarType::kLearnedRange;
  if (learned != learn_sigma)
    throw ConfigError(where, "diffusion.model_var_type",
                      "'" + model_var_type + "' needs model.learn_sigma " + (learned ? "true" : "false") +
                          " (the variance is " +
                          (learned ? "predicted: 6 output channels" : "fixed: 3 output channels") + ")");
  try {
    if (!timestep_respacing.empty() && space_timesteps(diffusion_steps, timestep_respacing).size() < 2)
      throw ConfigError("", "timestep_respacing",
                        "'" + timestep_respacing + "' keeps fewer than 2 steps; a sampling chain needs at least 2");
  } catch (const ConfigError& e) {
    throw ConfigError(where, "diffusion.timestep_respacing", e.what());
  }
}

}  // namespace repro::core
