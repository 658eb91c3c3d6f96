#pragma once
// DiffusionConfig: the arguments of the reference's create_gaussian_diffusion (script_util.py).
// Plain and torch-free; field names are the reference flag names. Defaults are the PAPER's
// (cosine schedule, rescaled learned sigmas: paper-spec Table 9), not the reference's
// diffusion_defaults() (linear, False).
#include <string>

namespace repro::core {

enum class BetaSchedule { kLinear, kCosine };
enum class ModelMeanType { kPreviousX, kStartX, kEpsilon };
enum class ModelVarType { kLearned, kFixedSmall, kFixedLarge, kLearnedRange };
enum class LossType { kMse, kRescaledMse, kKl, kRescaledKl };

struct DiffusionConfig {
  int diffusion_steps = 1000;             // T of the training process
  std::string noise_schedule = "cosine";  // "linear" | "cosine"
  bool learn_sigma = false;               // the model predicts v (set from the model config)
  bool sigma_small = false;               // fixed variance: beta-tilde (small) vs beta (large)
  bool use_kl = false;                    // loss = the variational bound only
  bool predict_xstart = false;            // mean type x_start instead of epsilon
  bool rescale_timesteps = false;         // model sees t * 1000 / T (identity for T = 1000)
  bool rescale_learned_sigmas = true;     // RESCALED_MSE: vb scaled by T / 1000
  std::string timestep_respacing = "";    // "" = all steps; "100", "50,50", "ddim25", ...
  // Overrides of the reference's flag mapping above, for the types no flag reaches; "" = mapped.
  std::string model_mean_type = "";  // epsilon | start_x | previous_x
  std::string model_var_type = "";   // learned | learned_range | fixed_small | fixed_large
  std::string loss_type = "";        // mse | rescaled_mse | kl | rescaled_kl

  BetaSchedule beta_schedule() const;
  // The types in effect: the override when set, else the mapping of create_gaussian_diffusion.
  ModelMeanType mean_type() const;
  ModelVarType var_type() const;
  LossType loss() const;
  void validate(const std::string& where = "") const;
};

}  // namespace repro::core
