#include "core/train/ema.h"

#include <string>

#include "base/util/errors.h"

namespace repro::core {

Ema::Ema(double rate, const std::vector<torch::Tensor>& params) : rate_(rate) {
  if (!(rate >= 0 && rate <= 1)) {
    throw ConfigError("", "ema_rate", "expected a value in [0, 1], got " + std::to_string(rate));
  }
  torch::NoGradGuard no_grad;
  shadow_.reserve(params.size());
  for (const auto& p : params) {
    TORCH_CHECK(p.defined(), "Ema: undefined parameter tensor");
    shadow_.push_back(p.detach().to(torch::kFloat32, /*non_blocking=*/false, /*copy=*/true));
  }
}

void Ema::check_matches(const std::vector<torch::Tensor>& tensors, const char* what) const {
  TORCH_CHECK(tensors.size() == shadow_.size(), "Ema::", what, ": expected ", shadow_.size(), " tensors, got ",
              tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    TORCH_CHECK(tensors[i].defined(), "Ema::", what, ": tensor ", i, " is undefined");
    TORCH_CHECK(tensors[i].sizes() == shadow_[i].sizes(), "Ema::", what, ": tensor ", i, " has shape ",
                tensors[i].sizes(), ", expected ", shadow_[i].sizes());
  }
}

void Ema::update(const std::vector<torch::Tensor>& params) {
  check_matches(params, "update");
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < params.size(); ++i) {
    auto src = params[i].detach().to(shadow_[i].device(), torch::kFloat32);
    shadow_[i].mul_(rate_).add_(src, 1 - rate_);
  }
}

void Ema::copy_to(const std::vector<torch::Tensor>& params) const {
  check_matches(params, "copy_to");
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < params.size(); ++i) params[i].detach().copy_(shadow_[i]);
}

void Ema::load(const std::vector<torch::Tensor>& values) {
  check_matches(values, "load");
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < values.size(); ++i) shadow_[i].copy_(values[i].detach());
}

}  // namespace repro::core
