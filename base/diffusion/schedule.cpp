#include "base/diffusion/schedule.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "base/util/errors.h"

namespace repro::core {

namespace {

// numpy.linspace(start, stop, num) for float64: start + i * step, the last entry exactly stop.
std::vector<double> linspace(double start, double stop, int num) {
  std::vector<double> y(num);
  if (num == 1) return {start};
  const double step = (stop - start) / (num - 1);
  for (int i = 0; i < num; ++i) y[i] = i * step + start;
  y[num - 1] = stop;
  return y;
}

double cosine_alpha_bar(double t) {
  const double kPi = 3.141592653589793;  // math.pi
  double c = std::cos((t + 0.008) / 1.008 * kPi / 2);
  return c * c;
}

}  // namespace

std::vector<double> get_named_beta_schedule(BetaSchedule schedule, int num_diffusion_timesteps) {
  const int T = num_diffusion_timesteps;
  if (T < 1) throw ConfigError("", "diffusion.diffusion_steps", "expected >= 1, got " + std::to_string(T));
  if (schedule == BetaSchedule::kLinear) {
    // Linear schedule from Ho et al, extended to work for any number of diffusion steps.
    const double scale = 1000.0 / T;
    return linspace(scale * 0.0001, scale * 0.02, T);
  }
  std::vector<double> betas(T);
  const double max_beta = 0.999;  // prevents a singularity at t = T
  for (int i = 0; i < T; ++i) {
    const double t1 = static_cast<double>(i) / T;
    const double t2 = static_cast<double>(i + 1) / T;
    betas[i] = std::min(1 - cosine_alpha_bar(t2) / cosine_alpha_bar(t1), max_beta);
  }
  return betas;
}

DiffusionSchedule make_schedule(const std::vector<double>& betas) {
  if (betas.empty()) throw ConfigError("", "diffusion.betas", "the schedule is empty");
  for (size_t i = 0; i < betas.size(); ++i)
    if (!(betas[i] > 0 && betas[i] <= 1))
      throw ConfigError("", "diffusion.betas",
                        "beta[" + std::to_string(i) + "] = " + std::to_string(betas[i]) + " is outside (0, 1]");
  const size_t T = betas.size();
  DiffusionSchedule s;
  s.betas = betas;
  s.alphas_cumprod.resize(T);
  double prod = 1.0;
  for (size_t i = 0; i < T; ++i) s.alphas_cumprod[i] = prod *= (1.0 - betas[i]);
  s.alphas_cumprod_prev.resize(T);
  s.alphas_cumprod_next.resize(T);
  for (size_t i = 0; i < T; ++i) {
    s.alphas_cumprod_prev[i] = i == 0 ? 1.0 : s.alphas_cumprod[i - 1];
    s.alphas_cumprod_next[i] = i + 1 == T ? 0.0 : s.alphas_cumprod[i + 1];
  }
  auto map = [&](auto f) {
    std::vector<double> out(T);
    for (size_t i = 0; i < T; ++i) out[i] = f(i);
    return out;
  };
  const auto& ac = s.alphas_cumprod;
  const auto& acp = s.alphas_cumprod_prev;
  s.sqrt_alphas_cumprod = map([&](size_t i) { return std::sqrt(ac[i]); });
  s.sqrt_one_minus_alphas_cumprod = map([&](size_t i) { return std::sqrt(1.0 - ac[i]); });
  s.log_one_minus_alphas_cumprod = map([&](size_t i) { return std::log(1.0 - ac[i]); });
  s.sqrt_recip_alphas_cumprod = map([&](size_t i) { return std::sqrt(1.0 / ac[i]); });
  s.sqrt_recipm1_alphas_cumprod = map([&](size_t i) { return std::sqrt(1.0 / ac[i] - 1); });
  s.posterior_variance = map([&](size_t i) { return betas[i] * (1.0 - acp[i]) / (1.0 - ac[i]); });
  // posterior_variance[0] is 0 (abar_prev = 1): the reference logs [pv_1, pv_1, pv_2, ...].
  const double pv1 = T > 1 ? s.posterior_variance[1] : s.posterior_variance[0];
  s.posterior_log_variance_clipped = map([&](size_t i) { return std::log(i == 0 ? pv1 : s.posterior_variance[i]); });
  s.posterior_mean_coef1 = map([&](size_t i) { return betas[i] * std::sqrt(acp[i]) / (1.0 - ac[i]); });
  s.posterior_mean_coef2 = map([&](size_t i) { return (1.0 - acp[i]) * std::sqrt(1.0 - betas[i]) / (1.0 - ac[i]); });
  return s;
}

std::vector<double> respaced_betas(const std::vector<double>& base_alphas_cumprod,
                                   const std::vector<int>& use_timesteps) {
  std::vector<double> new_betas;
  new_betas.reserve(use_timesteps.size());
  double last_alpha_cumprod = 1.0;
  for (int t : use_timesteps) {
    REPRO_CHECK(t >= 0 && t < static_cast<int>(base_alphas_cumprod.size()), "timestep out of range");
    new_betas.push_back(1.0 - base_alphas_cumprod[t] / last_alpha_cumprod);
    last_alpha_cumprod = base_alphas_cumprod[t];
  }
  return new_betas;
}

}  // namespace repro::core
