#include "core/diffusion/losses.h"

#include <cmath>

#include "base/util/errors.h"

namespace repro::core {

torch::Tensor normal_kl(const torch::Tensor& mean1, const torch::Tensor& logvar1, const torch::Tensor& mean2,
                        const torch::Tensor& logvar2) {
  return 0.5 *
         (-1.0 + logvar2 - logvar1 + torch::exp(logvar1 - logvar2) + (mean1 - mean2).pow(2) * torch::exp(-logvar2));
}

torch::Tensor approx_standard_normal_cdf(const torch::Tensor& x) {
  const double kSqrt2OverPi = std::sqrt(2.0 / M_PI);
  return 0.5 * (1.0 + torch::tanh(kSqrt2OverPi * (x + 0.044715 * torch::pow(x, 3))));
}

torch::Tensor discretized_gaussian_log_likelihood(const torch::Tensor& x, const torch::Tensor& means,
                                                  const torch::Tensor& log_scales) {
  TORCH_CHECK(x.sizes() == means.sizes() && x.sizes() == log_scales.sizes(),
              "discretized_gaussian_log_likelihood: shapes differ");
  auto centered_x = x - means;
  auto inv_stdv = torch::exp(-log_scales);
  auto cdf_plus = approx_standard_normal_cdf(inv_stdv * (centered_x + 1.0 / 255.0));
  auto cdf_min = approx_standard_normal_cdf(inv_stdv * (centered_x - 1.0 / 255.0));
  auto log_cdf_plus = torch::log(cdf_plus.clamp_min(1e-12));
  auto log_one_minus_cdf_min = torch::log((1.0 - cdf_min).clamp_min(1e-12));
  auto cdf_delta = cdf_plus - cdf_min;
  return torch::where(x < -0.999, log_cdf_plus,
                      torch::where(x > 0.999, log_one_minus_cdf_min, torch::log(cdf_delta.clamp_min(1e-12))));
}

namespace {
std::vector<int64_t> non_batch_dims(const torch::Tensor& x) {
  std::vector<int64_t> dims;
  for (int64_t d = 1; d < x.dim(); ++d) dims.push_back(d);
  return dims;
}
}  // namespace

torch::Tensor mean_flat(const torch::Tensor& x) {
  const auto dims = non_batch_dims(x);
  return dims.empty() ? x : x.mean(dims);
}

torch::Tensor sum_flat(const torch::Tensor& x) {
  const auto dims = non_batch_dims(x);
  return dims.empty() ? x : x.sum(dims);
}

LossReduction loss_reduction_from(const std::string& name) {
  if (name == "mean") return LossReduction::kMean;
  if (name == "sum") return LossReduction::kSum;
  throw ConfigError("", "train.loss_reduction", "expected mean or sum, got '" + name + "'");
}

torch::Tensor reduce_flat(const torch::Tensor& x, LossReduction reduction) {
  return reduction == LossReduction::kSum ? sum_flat(x) : mean_flat(x);
}

}  // namespace repro::core
