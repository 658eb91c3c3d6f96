#include "core/train/mixed_precision.h"

#include <cmath>

namespace repro::core {

MixedPrecision::MixedPrecision(UNetModel model, torch::ScalarType torso_dtype, bool loss_scaling,
                               double initial_lg_loss_scale, double fp16_scale_growth)
    : loss_scaling_(loss_scaling), lg_loss_scale_(initial_lg_loss_scale), growth_(fp16_scale_growth) {
  model_params_ = model->parameters();
  separate_masters_ = torso_dtype != torch::kFloat32;
  if (!separate_masters_) {
    master_ = model_params_;
    return;
  }
  {
    // fp16_util copies the float32 initialisation before convert_to_fp16: the masters (and the
    // EMAs made from them) start unrounded.
    torch::NoGradGuard no_grad;
    for (const auto& p : model_params_) master_.push_back(p.detach().to(torch::kFloat32).clone().requires_grad_(true));
  }
  model->convert_torso(torso_dtype);
}

torch::Tensor MixedPrecision::scale_loss(const torch::Tensor& loss) const {
  return loss_scaling_ ? loss * std::pow(2.0, lg_loss_scale_) : loss;
}

bool MixedPrecision::grads_to_master(double* grad_norm) {
  torch::NoGradGuard no_grad;
  const double unscale = loss_scaling_ ? std::pow(2.0, -lg_loss_scale_) : 1.0;
  double sq = 0;
  for (size_t i = 0; i < master_.size(); ++i) {
    const auto& g = model_params_[i].grad();
    if (!g.defined()) continue;
    auto g32 = g.detach().to(torch::kFloat32);
    if (unscale != 1.0) g32 = g32 * unscale;
    sq += g32.to(torch::kFloat64).pow(2).sum().item<double>();
    if (separate_masters_ || unscale != 1.0) master_[i].mutable_grad() = g32;
  }
  *grad_norm = std::sqrt(sq);
  if (!loss_scaling_) return true;
  if (!std::isfinite(*grad_norm)) {
    lg_loss_scale_ -= 1;  // overflow: skip this step with a smaller scale
    for (auto& m : master_) m.mutable_grad() = torch::Tensor();
    return false;
  }
  lg_loss_scale_ += growth_;
  return true;
}

double MixedPrecision::clip_master_grads(double max_norm) {
  return torch::nn::utils::clip_grad_norm_(master_, max_norm);
}

void MixedPrecision::masters_to_model() {
  if (!separate_masters_) return;
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < master_.size(); ++i) model_params_[i].copy_(master_[i]);
}

void MixedPrecision::load_master(const std::vector<torch::Tensor>& values) {
  TORCH_CHECK(values.size() == master_.size(), "load_master: ", values.size(), " tensors for ", master_.size(),
              " parameters");
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < master_.size(); ++i) master_[i].copy_(values[i]);
  masters_to_model();
}

}  // namespace repro::core
