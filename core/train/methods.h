#pragma once
// The training methods the paper compares (paper-spec §2): what the model sees, what it
// regresses, and the extra penalty terms. The trainer draws every random tensor and passes it in,
// so each method is a pure function of its inputs (and testable against hand-computed cases).
#include <torch/torch.h>

#include <vector>

#include "core/diffusion/gaussian_diffusion.h"
#include "core/train/train_config.h"

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

// adm:    input q_sample(x0, t, eps),              target eps.
// adm-ip: input q_sample(x0, t, eps + gamma xi),   target eps          (DDPM-IP, Alg. 3).
// ddpm-y: input q_sample(x0, t, eps + gamma xi),   target (eps + gamma xi) / sqrt(1 + gamma^2).
// adm-gp: adm plus lambda_gp * mean_i ||v_i^T d eps_theta / d x_t||^2 with v ~ N(0, I): an unbiased
//         (Hutchinson) estimate of the squared Frobenius norm of the Jacobian; needs double backward.
// adm-wd: adm plus lambda_wd * sum ||theta||^2 (wd_mode l2), or AdamW decay (decoupled: no term here).
MethodLosses method_losses(const TrainConfig& config, const GaussianDiffusion& diffusion, const ModelFn& model,
                           const MethodInputs& in, const std::vector<torch::Tensor>& params);

}  // namespace repro::core
