#pragma once
// The training methods the paper compares (paper-spec §2): what the model sees, what it
// regresses, and the extra penalty terms. The trainer draws every random tensor and passes it in,
// so each method is a pure function of its inputs (and testable against hand-computed cases).
#include <torch/torch.h>

#include <vector>

#include "base/train/train_config.h"
#include "core/diffusion/gaussian_diffusion.h"

namespace repro::core {

struct MethodInputs {
  torch::Tensor x_start;   // [N, C, H, W] images in [-1, 1]
  torch::Tensor t;         // [N] indices of the training process
  torch::Tensor noise;     // [N, C, H, W] eps ~ N(0, I)
  torch::Tensor xi;        // [N, C, H, W] the perturbation ~ N(0, I) (adm-ip, ddpm-y)
  torch::Tensor gp_probe;  // [N, out_C, H, W] v ~ N(0, I) for the adm-gp estimate
};

struct MethodLosses {
  torch::Tensor loss;     // [N] per-sample loss (mse + vb): what the schedule sampler records
  torch::Tensor mse, vb;  // [N]
  torch::Tensor penalty;  // scalar added once to the weighted mean (adm-gp, adm-wd l2); undefined if none
};

// A TrainConfig's method resolved once (the trainer does it at construction): which one, and the
// numbers it reads.
enum class Method { kAdm, kAdmIp, kDdpmY, kAdmGp, kAdmWd };
const char* to_string(Method m);

struct TrainMethod {
  Method kind = Method::kAdm;
  double gamma = 0;      // adm-ip, ddpm-y: the perturbation's strength
  double lambda_gp = 0;  // adm-gp: the penalty's weight (no penalty at 0)
  double lambda_l2 = 0;  // adm-wd with wd_mode l2: the penalty's weight; 0 otherwise (no penalty)
  // The optimizer's decoupled weight decay: lambda_wd for adm-wd with wd_mode decoupled, else
  // train.weight_decay.
  double weight_decay = 0;
  LossReduction loss_reduction = LossReduction::kMean;  // train.loss_reduction

  // Throws ConfigError (key train.method) for a method name that is none of them.
  static TrainMethod from_config(const TrainConfig& config);
  bool perturbs_input() const { return kind == Method::kAdmIp || kind == Method::kDdpmY; }  // draws xi
  bool probes_jacobian() const { return kind == Method::kAdmGp; }                           // draws gp_probe
};

// adm:    input q_sample(x0, t, eps),              target eps.
// adm-ip: input q_sample(x0, t, eps + gamma xi),   target eps          (DDPM-IP, Alg. 3).
// ddpm-y: input q_sample(x0, t, eps + gamma xi),   target (eps + gamma xi) / sqrt(1 + gamma^2).
// adm-gp: adm plus lambda_gp * mean_i ||v_i^T d eps_theta / d x_t||^2 with v ~ N(0, I): an unbiased
//         (Hutchinson) estimate of the squared Frobenius norm of the Jacobian; needs double backward.
// adm-wd: adm plus lambda_wd * sum ||theta||^2 (wd_mode l2), or AdamW decay (decoupled: no term here).
// REQUIRES: in.xi defined when method.perturbs_input(), in.gp_probe when method.probes_jacobian().
MethodLosses method_losses(const TrainMethod& method, const GaussianDiffusion& diffusion, const ModelFn& model,
                           const MethodInputs& in, const std::vector<torch::Tensor>& params);

}  // namespace repro::core
