#include "core/diffusion/exposure.h"

#include <algorithm>
#include <cmath>

#include "base/util/errors.h"

namespace repro::core {

namespace {

torch::Tensor standard_normal(const torch::Tensor& like, torch::Generator& generator) {
  return torch::randn(like.sizes(), generator, torch::TensorOptions().dtype(torch::kFloat32)).to(like.device());
}

// The respaced index i for every row of x, as the samplers take it.
torch::Tensor index_of(int i, const torch::Tensor& x) {
  return torch::full({x.size(0)}, i, torch::TensorOptions().dtype(torch::kInt64).device(x.device()));
}

// The eps of a raw model output: its first C channels (a learned sigma's v follows them).
torch::Tensor raw_eps(const torch::Tensor& output, int64_t channels) { return output.narrow(1, 0, channels); }

// x̂_t - sqrt(abar_t) x0 in float64: the stochastic part of x̂_t.
torch::Tensor stochastic_part(const GaussianDiffusion& diffusion, const torch::Tensor& x_hat, const torch::Tensor& x0,
                              int t) {
  const double sqrt_alpha_bar = std::sqrt(diffusion.schedule().alphas_cumprod[static_cast<size_t>(t)]);
  return x_hat.to(torch::kFloat64) - sqrt_alpha_bar * x0.to(torch::kFloat64);
}

// eps_theta(q_sample(x0, t, fresh eps), t): the network's eps on what training feeds it at t.
torch::Tensor training_eps(const GaussianDiffusion& diffusion, const ModelFn& model, const torch::Tensor& x0,
                           const torch::Tensor& t, torch::Generator& generator) {
  const torch::Tensor x_t = diffusion.q_sample(x0, t, standard_normal(x0, generator));
  return raw_eps(model(x_t, diffusion.model_timesteps(t)), x0.size(1));
}

void report_progress(const ExposureOptions& options, int done, int total) {
  if (options.sample.progress) options.sample.progress(done, total);
}

void measure_chain(const GaussianDiffusion& diffusion, const ModelFn& model, const torch::Tensor& x0,
                   torch::Generator& generator, const ExposureOptions& options, ExposureSums& sums) {
  const int first = options.start > 0 ? options.start - 1 : diffusion.num_timesteps() - 1;
  torch::Tensor step_output;  // the model call of the current reverse step
  const ModelFn capturing = [&](const torch::Tensor& x, const torch::Tensor& timesteps) {
    step_output = model(x, timesteps);
    return step_output;
  };
  torch::Tensor x_hat = diffusion.q_sample(x0, index_of(first, x0), standard_normal(x0, generator));
  for (int i = first; i >= 0; --i) {
    const torch::Tensor t = index_of(i, x0);
    const torch::Tensor z = standard_normal(x0, generator);
    const torch::Tensor next = reverse_step(diffusion, capturing, x_hat, t, z, options.sample).sample;
    sums.add(i, raw_eps(step_output, x0.size(1)), training_eps(diffusion, model, x0, t, generator),
             stochastic_part(diffusion, x_hat, x0, i));
    x_hat = next;
    report_progress(options, first + 1 - i, first + 1);
  }
}

void measure_steps(const GaussianDiffusion& diffusion, const ModelFn& model, const torch::Tensor& x0,
                   torch::Generator& generator, const ExposureOptions& options, ExposureSums& sums) {
  const int last = diffusion.num_timesteps() - 2;
  for (int i = last; i >= 0; --i) {
    const torch::Tensor t = index_of(i, x0);
    const torch::Tensor t_next = index_of(i + 1, x0);
    const torch::Tensor x_next = diffusion.q_sample(x0, t_next, standard_normal(x0, generator));
    const torch::Tensor z = standard_normal(x0, generator);
    const torch::Tensor x_hat = reverse_step(diffusion, model, x_next, t_next, z, options.sample).sample;
    const torch::Tensor eps_sample = raw_eps(model(x_hat, diffusion.model_timesteps(t)), x0.size(1));
    sums.add(i, eps_sample, training_eps(diffusion, model, x0, t, generator), stochastic_part(diffusion, x_hat, x0, i));
    report_progress(options, last + 1 - i, last + 1);
  }
}

}  // namespace

ExposureMode parse_exposure_mode(const std::string& text, const std::string& option) {
  if (text == "chain") return ExposureMode::kChain;
  if (text == "step") return ExposureMode::kStep;
  throw ConfigError("", option, "expected chain or step, got '" + text + "'");
}

std::string exposure_mode_name(ExposureMode mode) { return mode == ExposureMode::kChain ? "chain" : "step"; }

ExposureSums::ExposureSums(int num_timesteps) : sums_(static_cast<size_t>(std::max(0, num_timesteps))) {}

void ExposureSums::add(int t, const torch::Tensor& eps_sample, const torch::Tensor& eps_train,
                       const torch::Tensor& deviation) {
  TORCH_CHECK(t >= 0 && t < static_cast<int>(sums_.size()), "ExposureSums::add: index ", t, " outside [0, ",
              sums_.size(), ")");
  TORCH_CHECK(
      eps_sample.dim() == 4 && eps_sample.sizes() == eps_train.sizes() && eps_sample.sizes() == deviation.sizes(),
      "ExposureSums::add: expected eps and deviation of one shape [N, C, H, W], got ", eps_sample.sizes(), ", ",
      eps_train.sizes(), " and ", deviation.sizes());
  auto norm_sum = [](const torch::Tensor& eps) {
    return eps.to(torch::kFloat64).flatten(1).norm(2, 1).sum().item<double>();
  };
  Sum& s = sums_[static_cast<size_t>(t)];
  s.eps_norm_sample += norm_sum(eps_sample);
  s.eps_norm_train += norm_sum(eps_train);
  s.squared_deviation += deviation.to(torch::kFloat64).square().sum().item<double>();
  s.images += eps_sample.size(0);
  s.elements += deviation.numel();
}

std::vector<ExposureStep> ExposureSums::steps(const GaussianDiffusion& diffusion) const {
  TORCH_CHECK(static_cast<int>(sums_.size()) == diffusion.num_timesteps(), "ExposureSums::steps: sums of ",
              sums_.size(), " steps, process of ", diffusion.num_timesteps());
  std::vector<ExposureStep> out;
  for (int t = static_cast<int>(sums_.size()) - 1; t >= 0; --t) {
    const Sum& s = sums_[static_cast<size_t>(t)];
    if (s.images == 0) continue;
    ExposureStep r;
    r.index = t;
    r.timestep = diffusion.timestep_map()[static_cast<size_t>(t)];
    r.eps_norm_sample = s.eps_norm_sample / static_cast<double>(s.images);
    r.eps_norm_train = s.eps_norm_train / static_cast<double>(s.images);
    r.var_sample = s.squared_deviation / static_cast<double>(s.elements);
    r.var_train = 1.0 - diffusion.schedule().alphas_cumprod[static_cast<size_t>(t)];
    r.var_ratio = r.var_sample / r.var_train;
    out.push_back(r);
  }
  return out;
}

void measure_exposure(const GaussianDiffusion& diffusion, const ModelFn& model, const torch::Tensor& x0,
                      torch::Generator& generator, const ExposureOptions& options, ExposureSums& sums) {
  TORCH_CHECK(x0.dim() == 4, "measure_exposure: expected x0 [N, C, H, W], got ", x0.sizes());
  const int T = diffusion.num_timesteps();
  const bool chain = options.mode == ExposureMode::kChain;
  TORCH_CHECK(options.start >= 0 && options.start <= T, "measure_exposure: start ", options.start, " outside [0, ", T,
              "]");
  TORCH_CHECK(options.start == 0 || (chain && T == diffusion.original_num_steps()),
              "measure_exposure: start needs chain mode on the full process");
  c10::InferenceMode inference;
  SingleThreadedBlas one_blas_thread;
  const torch::Tensor x0_f32 = x0.to(torch::kFloat32);
  if (chain) {
    measure_chain(diffusion, model, x0_f32, generator, options, sums);
  } else {
    measure_steps(diffusion, model, x0_f32, generator, options, sums);
  }
}

}  // namespace repro::core
