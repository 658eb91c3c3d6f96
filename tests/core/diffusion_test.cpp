// Truth: closed forms (q_sample, KL of identical Gaussians, the edge bins of the discretised
// likelihood), and an oracle model that knows x_0: with the true eps every sampler must land on x_0.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "core/diffusion/gaussian_diffusion.h"
#include "core/diffusion/image_output.h"
#include "core/diffusion/losses.h"
#include "core/diffusion/sampling.h"

using namespace repro::core;

namespace {

DiffusionConfig learned_config() {
  DiffusionConfig c;
  c.learn_sigma = true;
  return c;
}

// A model that predicts the exact eps for data x0 (and v = 0): eps = (x_t - sqrt(abar) x0) / sqrt(1 - abar),
// computed in float64 from the ORIGINAL timestep it is called with.
ModelFn oracle(const torch::Tensor& x0, const GaussianDiffusion& base, bool learn_sigma) {
  return [x0, &base, learn_sigma](const torch::Tensor& x, const torch::Tensor& t_model) {
    const auto& ac = base.schedule().alphas_cumprod;
    auto eps = torch::empty_like(x);
    for (int64_t i = 0; i < x.size(0); ++i) {
      const double a = ac[t_model[i].item<int64_t>()];
      eps[i] = (x[i].to(torch::kFloat64) - std::sqrt(a) * x0[i].to(torch::kFloat64)) / std::sqrt(1 - a);
    }
    return learn_sigma ? torch::cat({eps, torch::zeros_like(eps)}, 1) : eps;
  };
}

}  // namespace

TEST(Diffusion, QSampleClosedForm) {
  GaussianDiffusion d(learned_config());
  auto x0 = torch::full({2, 3, 4, 4}, 0.5f);
  auto noise = torch::full({2, 3, 4, 4}, -1.0f);
  auto t = torch::tensor({0, 999}, torch::kInt64);
  auto xt = d.q_sample(x0, t, noise);
  const auto& s = d.schedule();
  EXPECT_NEAR(xt[0][0][0][0].item<float>(), 0.5 * std::sqrt(s.alphas_cumprod[0]) - std::sqrt(1 - s.alphas_cumprod[0]),
              1e-6);
  EXPECT_NEAR(xt[1][2][3][3].item<float>(), 0.5 * std::sqrt(2.428766907e-09) - std::sqrt(1 - 2.428766907e-09), 1e-6);
}

TEST(Diffusion, NormalKlOfIdenticalGaussiansIsZero) {
  auto m = torch::randn({3, 5});
  auto lv = torch::randn({3, 5});
  EXPECT_LT(normal_kl(m, lv, m, lv).abs().max().item<float>(), 1e-6f);  // exp(0) - 1 in float32
  // KL(N(0,1) || N(1, e^2)) = log(e) + (1 + 1) / (2 e^2) - 1/2 = 1 + 1/e^2 - 1/2.
  auto kl = normal_kl(torch::zeros({1}), torch::zeros({1}), torch::ones({1}), torch::full({1}, 2.0f));
  EXPECT_NEAR(kl.item<float>(), 0.5 + std::exp(-2.0), 1e-6);
}

TEST(Diffusion, DiscretizedLikelihoodEdgeBins) {
  // At x = -1 the bin is (-inf, -1 + 1/255]; at x = 1 it is [1 - 1/255, inf); otherwise width 2/255.
  auto means = torch::zeros({3});
  auto log_scales = torch::zeros({3});
  auto x = torch::tensor({-1.0f, 0.0f, 1.0f});
  auto lp = discretized_gaussian_log_likelihood(x, means, log_scales);
  auto cdf = [](double v) { return 0.5 * (1 + std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v))); };
  EXPECT_NEAR(lp[0].item<float>(), std::log(cdf(-1 + 1 / 255.0)), 1e-5);
  EXPECT_NEAR(lp[1].item<float>(), std::log(cdf(1 / 255.0) - cdf(-1 / 255.0)), 1e-4);
  EXPECT_NEAR(lp[2].item<float>(), std::log(1 - cdf(1 - 1 / 255.0)), 1e-5);
}

TEST(Diffusion, PosteriorOfTheTrueX0HasZeroKl) {
  // With the oracle eps (and fixed-small variance), p(x_{t-1}|x_t) equals q(x_{t-1}|x_t, x_0).
  DiffusionConfig c;
  c.sigma_small = true;
  GaussianDiffusion d(c);
  torch::manual_seed(0);
  auto x0 = torch::rand({2, 3, 4, 4}) * 2 - 1;
  auto t = torch::tensor({5, 700}, torch::kInt64);
  auto xt = d.q_sample(x0, t, torch::randn_like(x0));
  auto out = oracle(x0, d, false)(xt, d.model_timesteps(t));
  auto vb = d.vb_terms_bpd(out, x0, xt, t, false).output;
  EXPECT_LT(vb.abs().max().item<float>(), 1e-3);
}

TEST(Diffusion, InputPerturbationFeedsYtAndKeepsTheTarget) {
  GaussianDiffusion d(learned_config());
  torch::manual_seed(1);
  auto x0 = torch::rand({3, 3, 8, 8}) * 2 - 1;
  auto t = torch::tensor({0, 10, 900}, torch::kInt64);
  auto eps = torch::randn_like(x0), xi = torch::randn_like(x0);
  const double gamma = 0.1;
  torch::Tensor seen_x;
  ModelFn zero_eps = [&](const torch::Tensor& x, const torch::Tensor&) {
    seen_x = x;
    return torch::zeros({x.size(0), 6, x.size(2), x.size(3)});
  };
  auto terms = d.training_losses(zero_eps, x0, t, eps, xi, gamma);
  // y_t = sqrt(abar) x0 + sqrt(1 - abar) (eps + gamma xi) (paper-spec §2.2)
  EXPECT_TRUE(torch::allclose(seen_x, d.q_sample(x0, t, eps + gamma * xi), 1e-6, 1e-6));
  // The model outputs 0, so mse = mean(eps^2): the target is the unperturbed eps.
  EXPECT_TRUE(torch::allclose(terms.mse, eps.pow(2).mean({1, 2, 3}), 1e-6, 1e-6));
  EXPECT_TRUE(torch::allclose(terms.loss, terms.mse + terms.vb, 1e-6, 1e-6));
  // Without perturbation the model sees x_t.
  d.training_losses(zero_eps, x0, t, eps);
  EXPECT_TRUE(torch::allclose(seen_x, d.q_sample(x0, t, eps), 1e-6, 1e-6));
}

TEST(Diffusion, RespacedModelSeesOriginalIndices) {
  GaussianDiffusion d = GaussianDiffusion(learned_config()).respaced("100");
  EXPECT_EQ(d.num_timesteps(), 100);
  auto mapped = d.model_timesteps(torch::tensor({0, 6, 99}, torch::kInt64));
  EXPECT_EQ(mapped[0].item<int64_t>(), 0);
  EXPECT_EQ(mapped[1].item<int64_t>(), 61);
  EXPECT_EQ(mapped[2].item<int64_t>(), 999);
}

TEST(Sampling, OracleModelRecoversX0Ancestral) {
  GaussianDiffusion base(learned_config());
  auto d = base.respaced("50");
  torch::manual_seed(2);
  auto x0 = torch::rand({2, 3, 4, 4}) * 1.6 - 0.8;
  auto gen = at::detail::createCPUGenerator(3);
  // Each sample i's oracle must know which x0 row it targets: batch order is preserved.
  auto x = sample_loop(d, oracle(x0, base, true), {2, 3, 4, 4}, gen, torch::kCPU, SampleOptions{});
  EXPECT_TRUE(torch::allclose(x, x0, 1e-4, 1e-4)) << (x - x0).abs().max();
}

TEST(Sampling, OracleModelRecoversX0Ddim) {
  GaussianDiffusion base(learned_config());
  auto d = base.respaced("ddim20");
  torch::manual_seed(4);
  auto x0 = torch::rand({2, 3, 4, 4}) * 1.6 - 0.8;
  for (double eta : {0.0, 0.5}) {
    auto gen = at::detail::createCPUGenerator(5);
    SampleOptions o;
    o.ddim = true;
    o.eta = eta;
    auto x = sample_loop(d, oracle(x0, base, true), {2, 3, 4, 4}, gen, torch::kCPU, o);
    EXPECT_TRUE(torch::allclose(x, x0, 1e-4, 1e-4)) << "eta " << eta << ": " << (x - x0).abs().max();
  }
}

TEST(Sampling, SameSeedSameSamples) {
  GaussianDiffusion d = GaussianDiffusion(learned_config()).respaced("10");
  ModelFn model = [](const torch::Tensor& x, const torch::Tensor& t) {
    return torch::cat({0.3 * x, torch::tanh(x)}, 1);
  };
  auto run = [&](uint64_t seed) {
    auto gen = at::detail::createCPUGenerator(seed);
    return sample_loop(d, model, {2, 3, 4, 4}, gen, torch::kCPU, SampleOptions{});
  };
  EXPECT_TRUE(torch::equal(run(11), run(11)));
  EXPECT_FALSE(torch::equal(run(11), run(12)));
}

TEST(ImageOutput, TruncatesLikeTheReference) {
  // ((x + 1) * 127.5).clamp(0, 255) then truncation: 0.999 -> 254.87 -> 254; -1.2 -> 0; 2 -> 255.
  auto x = torch::tensor({0.999f, -1.2f, 2.0f, 0.0f}).reshape({1, 4, 1, 1});
  auto u = to_uint8_nhwc(x);
  EXPECT_EQ(u.sizes(), (std::vector<int64_t>{1, 1, 1, 4}));
  EXPECT_EQ(u[0][0][0][0].item<uint8_t>(), 254);
  EXPECT_EQ(u[0][0][0][1].item<uint8_t>(), 0);
  EXPECT_EQ(u[0][0][0][2].item<uint8_t>(), 255);
  EXPECT_EQ(u[0][0][0][3].item<uint8_t>(), 127);
}
