#include "core/train/methods.h"

#include <cmath>

namespace repro::core {

MethodLosses method_losses(const TrainConfig& config, const GaussianDiffusion& diffusion, const ModelFn& model,
                           const MethodInputs& in, const std::vector<torch::Tensor>& params) {
  const std::string& m = config.method;
  torch::Tensor input_noise = in.noise, target_noise = in.noise;
  if (m == "adm-ip" || m == "ddpm-y") {
    TORCH_CHECK(in.xi.defined(), "method ", m, " needs the perturbation xi");
    input_noise = in.noise + config.gamma * in.xi;
    if (m == "ddpm-y") target_noise = input_noise / std::sqrt(1.0 + config.gamma * config.gamma);
  }

  // adm-gp differentiates the eps head with respect to the model input: capture both.
  torch::Tensor gp_input, gp_output;
  ModelFn fn = model;
  if (m == "adm-gp") {
    fn = [&](const torch::Tensor& x, const torch::Tensor& ts) {
      gp_input = x.detach().requires_grad_(true);
      gp_output = model(gp_input, ts);
      return gp_output;
    };
  }
  auto terms = diffusion.training_losses_with_noise(fn, in.x_start, in.t, input_noise, target_noise);
  MethodLosses out{terms.loss, terms.mse, terms.vb, torch::Tensor()};

  if (m == "adm-gp" && config.lambda_gp > 0) {
    TORCH_CHECK(in.gp_probe.defined(), "adm-gp needs the probe vectors");
    const int64_t C = in.x_start.size(1);
    auto eps_head = gp_output.slice(1, 0, C);
    auto vjp = torch::autograd::grad({eps_head}, {gp_input}, {in.gp_probe.slice(1, 0, C)},
                                     /*retain_graph=*/true, /*create_graph=*/true)[0];
    out.penalty = config.lambda_gp * vjp.pow(2).sum({1, 2, 3}).mean();
  } else if (m == "adm-wd" && config.wd_mode == "l2" && config.lambda_wd > 0) {
    torch::Tensor sq = torch::zeros({}, in.x_start.options());
    for (const auto& p : params) sq = sq + p.to(torch::kFloat32).pow(2).sum();  // half torso: sum in float32
    out.penalty = config.lambda_wd * sq;
  }
  return out;
}

}  // namespace repro::core
