#include "core/train/methods.h"

#include <cmath>

#include "base/util/errors.h"

namespace repro::core {

const char* to_string(Method m) {
  switch (m) {
    case Method::kAdm:
      return "adm";
    case Method::kAdmIp:
      return "adm-ip";
    case Method::kDdpmY:
      return "ddpm-y";
    case Method::kAdmGp:
      return "adm-gp";
    case Method::kAdmWd:
      return "adm-wd";
  }
  return "?";
}

TrainMethod TrainMethod::from_config(const TrainConfig& config) {
  TrainMethod m;
  bool known = false;
  for (Method k : {Method::kAdm, Method::kAdmIp, Method::kDdpmY, Method::kAdmGp, Method::kAdmWd})
    if (config.method == to_string(k)) m.kind = k, known = true;
  if (!known)
    throw ConfigError("", "train.method",
                      "expected one of adm, adm-ip, ddpm-y, adm-gp, adm-wd, got '" + config.method + "'");
  m.gamma = config.gamma;
  m.lambda_gp = config.lambda_gp;
  const bool wd = m.kind == Method::kAdmWd;
  m.lambda_l2 = wd && config.wd_mode == "l2" ? config.lambda_wd : 0.0;
  m.weight_decay = wd && config.wd_mode == "decoupled" ? config.lambda_wd : config.weight_decay;
  m.loss_reduction = loss_reduction_from(config.loss_reduction);
  return m;
}

namespace {

// adm-gp: lambda_gp * mean_i ||v_i^T d eps_theta / d x_t||^2, differentiable (double backward).
torch::Tensor gradient_penalty(double lambda_gp, const torch::Tensor& input, const torch::Tensor& output,
                               const torch::Tensor& probe, int64_t channels) {
  auto eps_head = output.slice(1, 0, channels);
  auto vjp = torch::autograd::grad({eps_head}, {input}, {probe.slice(1, 0, channels)},
                                   /*retain_graph=*/true, /*create_graph=*/true)[0];
  return lambda_gp * vjp.pow(2).sum({1, 2, 3}).mean();
}

// adm-wd l2: lambda * sum ||theta||^2, summed in float32 (a half torso's squares would overflow).
torch::Tensor l2_penalty(double lambda, const std::vector<torch::Tensor>& params, const torch::TensorOptions& options) {
  torch::Tensor sq = torch::zeros({}, options);
  for (const auto& p : params) sq = sq + p.to(torch::kFloat32).pow(2).sum();
  return lambda * sq;
}

}  // namespace

MethodLosses method_losses(const TrainMethod& method, const GaussianDiffusion& diffusion, const ModelFn& model,
                           const MethodInputs& in, const std::vector<torch::Tensor>& params) {
  torch::Tensor input_noise = in.noise, target_noise = in.noise;
  if (method.perturbs_input()) {
    TORCH_CHECK(in.xi.defined(), "method ", to_string(method.kind), " needs the perturbation xi");
    input_noise = in.noise + method.gamma * in.xi;
    if (method.kind == Method::kDdpmY) target_noise = input_noise / std::sqrt(1.0 + method.gamma * method.gamma);
  }
  // adm-gp differentiates the eps head with respect to the model input: capture both.
  torch::Tensor gp_input, gp_output;
  ModelFn fn = model;
  if (method.probes_jacobian()) {
    fn = [&](const torch::Tensor& x, const torch::Tensor& ts) {
      gp_input = x.detach().requires_grad_(true);
      gp_output = model(gp_input, ts);
      return gp_output;
    };
  }
  auto terms =
      diffusion.training_losses_with_noise(fn, in.x_start, in.t, input_noise, target_noise, method.loss_reduction);
  MethodLosses out{terms.loss, terms.mse, terms.vb, torch::Tensor()};
  if (method.probes_jacobian() && method.lambda_gp > 0) {
    TORCH_CHECK(in.gp_probe.defined(), "adm-gp needs the probe vectors");
    out.penalty = gradient_penalty(method.lambda_gp, gp_input, gp_output, in.gp_probe, in.x_start.size(1));
  } else if (method.lambda_l2 > 0) {
    out.penalty = l2_penalty(method.lambda_l2, params, in.x_start.options());
  }
  return out;
}

}  // namespace repro::core
