#pragma once
// Likelihood helpers of guided_diffusion/losses.py.
#include <torch/torch.h>

#include <string>

namespace repro::core {

// KL(N(mean1, exp(logvar1)) || N(mean2, exp(logvar2))), elementwise, in nats.
torch::Tensor normal_kl(const torch::Tensor& mean1, const torch::Tensor& logvar1, const torch::Tensor& mean2,
                        const torch::Tensor& logvar2);

// Fast tanh approximation of the standard normal CDF used by the reference.
torch::Tensor approx_standard_normal_cdf(const torch::Tensor& x);

// Log-likelihood of x (images rescaled to [-1, 1] from uint8) under a Gaussian discretised into
// 256 bins of width 2/255; the edge bins extend to +-infinity. Elementwise, in nats.
torch::Tensor discretized_gaussian_log_likelihood(const torch::Tensor& x, const torch::Tensor& means,
                                                  const torch::Tensor& log_scales);

// Mean over all non-batch dimensions: [N, ...] -> [N].
torch::Tensor mean_flat(const torch::Tensor& x);

// Sum over all non-batch dimensions: [N, ...] -> [N] (ermongroup/ddim's noise_estimation_loss,
// `.sum(dim=(1, 2, 3))`).
torch::Tensor sum_flat(const torch::Tensor& x);

// train.loss_reduction: how the per-image squared error reduces over C x H x W.
enum class LossReduction { kMean, kSum };  // ADM's mean_flat | DDIM's sum
// "mean" | "sum"; throws ConfigError naming train.loss_reduction for anything else.
LossReduction loss_reduction_from(const std::string& name);
torch::Tensor reduce_flat(const torch::Tensor& x, LossReduction reduction);

}  // namespace repro::core
