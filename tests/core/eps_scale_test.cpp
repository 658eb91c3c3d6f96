// Epsilon Scaling (ADM-ES) in the reverse step, and the chain started at a given x. Truth: closed
// forms in float64 from the schedule (x0 = sqrt(1/abar) x - sqrt(1/abar - 1) eps / lambda; DDIM's
// x_{t-1} = sqrt(abar_prev) x0 + sqrt(1 - abar_prev) eps / lambda), bit-for-bit identity where
// lambda is 1, and sample_loop's own stream for sample_loop_from.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <vector>

#include "base/diffusion/eps_scale.h"
#include "base/util/errors.h"
#include "core/diffusion/gaussian_diffusion.h"
#include "core/diffusion/sampling.h"
#include "tests/support/test_support.h"

using namespace repro;
using namespace repro::core;

namespace {

// A learned-range process on the cosine schedule, respaced to `steps`.
GaussianDiffusion learned(const std::string& steps) {
  DiffusionConfig c;
  c.learn_sigma = true;
  return GaussianDiffusion(c).respaced(steps);
}

// The network of the tests: eps = `eps` whatever the input, v = tanh(x) (learned range).
ModelFn fixed_eps(const torch::Tensor& eps) {
  return [eps](const torch::Tensor& x, const torch::Tensor&) { return torch::cat({eps, torch::tanh(x)}, 1); };
}

// A network that depends on x and t, for the chains.
ModelFn smooth_model() {
  return [](const torch::Tensor& x, const torch::Tensor& t) {
    auto s = (t.to(torch::kFloat32) / 1000).reshape({-1, 1, 1, 1});
    return torch::cat({0.3 * x + s, torch::tanh(x) * (1 - s)}, 1);
  };
}

// Float32 rounding of a sum of terms of magnitude `scale` (a few ulps), elementwise.
torch::Tensor f32_bound(const torch::Tensor& scale) {
  return 8 * std::numeric_limits<float>::epsilon() * scale + 1e-30;
}

struct Closed {
  torch::Tensor x0, magnitude;  // float64 [N, C, H, W]
};

// x0 = sqrt(1/abar_t) x - sqrt(1/abar_t - 1) eps / lambda_t in float64, lambda_t = b + k t (t the
// respaced index), and the size of its terms (for the rounding bound).
Closed closed_form_x0(const GaussianDiffusion& d, const torch::Tensor& x, const torch::Tensor& t,
                      const torch::Tensor& eps, const EpsScale& s) {
  auto x64 = x.to(torch::kFloat64), e64 = eps.to(torch::kFloat64);
  auto x0 = torch::empty_like(x64), mag = torch::empty_like(x64);
  for (int64_t n = 0; n < x.size(0); ++n) {
    const int64_t i = t[n].item<int64_t>();
    const double abar = d.schedule().alphas_cumprod[static_cast<size_t>(i)];
    const double c1 = std::sqrt(1 / abar), c2 = std::sqrt(1 / abar - 1), lambda = s.at(i);
    x0[n] = c1 * x64[n] - c2 * e64[n] / lambda;
    mag[n] = (c1 * x64[n]).abs() + (c2 * e64[n] / lambda).abs();
  }
  return {x0, mag};
}

void expect_within(const torch::Tensor& got, const torch::Tensor& want, const torch::Tensor& bound,
                   const std::string& what) {
  auto diff = (got.to(torch::kFloat64) - want).abs();
  EXPECT_TRUE((diff <= bound).all().item<bool>())
      << what << ": max |diff| " << diff.max().item<double>() << ", max excess " << (diff - bound).max().item<double>();
}

}  // namespace

TEST(EpsScaleStep, LambdaOneIsTheUnscaledStepBitForBit) {
  const auto d = learned("20");
  torch::manual_seed(1);
  auto x = torch::randn({3, 3, 4, 4});
  auto eps = torch::randn({3, 3, 4, 4});
  auto z = torch::randn({3, 3, 4, 4});
  auto t = torch::tensor({1, 1, 1}, torch::kInt64);
  const auto model = fixed_eps(eps);
  // {1, 0}: the identity; {0.5, 0.5} at i = 1: lambda = 1 through the division.
  for (const EpsScale s : {EpsScale{1.0, 0.0}, EpsScale{0.5, 0.5}}) {
    for (bool clip : {true, false}) {
      auto a = p_sample(d, model, x, t, z, clip);
      auto b = p_sample(d, model, x, t, z, clip, s);
      EXPECT_TRUE(torch::equal(a.sample, b.sample) && torch::equal(a.pred_xstart, b.pred_xstart)) << s.b << "," << s.k;
      for (double eta : {0.0, 0.5}) {
        auto c = ddim_sample(d, model, x, t, z, clip, eta);
        auto e = ddim_sample(d, model, x, t, z, clip, eta, s);
        EXPECT_TRUE(torch::equal(c.sample, e.sample) && torch::equal(c.pred_xstart, e.pred_xstart))
            << s.b << "," << s.k << " eta " << eta;
      }
    }
  }
  // The control: a lambda != 1 does change the step.
  EXPECT_FALSE(torch::equal(p_sample(d, model, x, t, z, false).sample,
                            p_sample(d, model, x, t, z, false, EpsScale{1.017, 0.0}).sample));
}

TEST(EpsScaleStep, PredXstartIsTheClosedFormWithEpsOverLambdaPerRow) {
  // Mixed respaced indices and k != 0: each row's lambda is b + k i of ITS respaced index i
  // (not the original timestep the network sees: 0, 368, 999 here).
  const auto d = learned("20");
  torch::manual_seed(2);
  auto x = torch::randn({3, 3, 4, 4});
  auto eps = torch::randn({3, 3, 4, 4});
  auto t = torch::tensor({0, 7, 19}, torch::kInt64);
  for (const EpsScale s : {EpsScale{1.017, 0.0}, EpsScale{1.01, 0.002}, EpsScale{0.9, 0.01}}) {
    auto out = d.p_mean_variance(fixed_eps(eps), x, t, /*clip_denoised=*/false, s);
    const Closed want = closed_form_x0(d, x, t, eps, s);
    expect_within(out.pred_xstart, want.x0, f32_bound(want.magnitude), "pred_xstart " + eps_scale_text(s));
    // The variance does not depend on lambda.
    auto plain = d.p_mean_variance(fixed_eps(eps), x, t, false);
    EXPECT_TRUE(torch::equal(out.log_variance, plain.log_variance));
    // And the original index would be another lambda: at i = 19 the rows differ by far more than rounding.
    if (s.k != 0) {
      const EpsScale wrong{s.at(999), 0.0};
      const Closed other = closed_form_x0(d, x, t, eps, wrong);
      EXPECT_GT((out.pred_xstart[2].to(torch::kFloat64) - other.x0[2]).abs().max().item<double>(), 1e-2);
    }
  }
}

TEST(EpsScaleStep, DdimReDerivesEpsOverLambda) {
  const auto d = learned("ddim10");
  torch::manual_seed(3);
  auto x = torch::randn({3, 3, 4, 4});
  auto eps = torch::randn({3, 3, 4, 4});
  auto z = torch::randn({3, 3, 4, 4});
  auto t = torch::tensor({9, 4, 1}, torch::kInt64);
  const EpsScale s{1.0, 0.004};  // lambda 1.036, 1.016, 1.004
  auto step = ddim_sample(d, fixed_eps(eps), x, t, z, /*clip_denoised=*/false, /*eta=*/0.0, s);
  // eps as ddim_sample re-derives it from the (unclipped) x0: eps / lambda.
  auto rederived = d.predict_eps_from_xstart(x, t, step.pred_xstart).to(torch::kFloat64);
  auto lambda = torch::tensor({s.at(9), s.at(4), s.at(1)}, torch::kFloat64).reshape({-1, 1, 1, 1});
  auto want_eps = eps.to(torch::kFloat64) / lambda;
  // Re-deriving divides x0's rounding by sqrt(1/abar - 1): bound it by the terms' size over it.
  const Closed x0 = closed_form_x0(d, x, t, eps, s);
  for (int64_t n = 0; n < 3; ++n) {
    const double abar = d.schedule().alphas_cumprod[static_cast<size_t>(t[n].item<int64_t>())];
    const auto eps_magnitude = x0.magnitude[n] / std::sqrt(1 / abar - 1);
    expect_within(rederived[n], want_eps[n], f32_bound(eps_magnitude), "re-derived eps row " + std::to_string(n));
    // x_{t-1} = sqrt(abar_prev) x0 + sqrt(1 - abar_prev) eps / lambda (eta 0: z unused).
    const double prev = d.schedule().alphas_cumprod_prev[static_cast<size_t>(t[n].item<int64_t>())];
    auto want = std::sqrt(prev) * x0.x0[n] + std::sqrt(1 - prev) * want_eps[n];
    // The last term: 1 - abar_prev is taken in float32 (as the reference does), losing digits
    // when abar_prev is near 1 (0.99996 at i = 1).
    auto mag = std::sqrt(prev) * x0.magnitude[n] + std::sqrt(1 - prev) * eps_magnitude +
               want_eps[n].abs() / std::sqrt(1 - prev);
    expect_within(step.sample[n], want, f32_bound(mag), "DDIM sample row " + std::to_string(n));
  }
}

TEST(EpsScaleStep, RefusedForAnXstartModel) {
  DiffusionConfig c;
  c.predict_xstart = true;
  GaussianDiffusion d(c);
  auto x = torch::randn({2, 3, 4, 4});
  auto t = torch::tensor({3, 500}, torch::kInt64);
  ModelFn model = [](const torch::Tensor& v, const torch::Tensor&) { return 0.5 * v; };
  EXPECT_NO_THROW(d.p_mean_variance(model, x, t, true, EpsScale{}));
  EXPECT_THROW(d.p_mean_variance(model, x, t, true, EpsScale{1.017, 0.0}), c10::Error);
  EXPECT_THROW(p_sample(d, model, x, t, torch::zeros_like(x), true, EpsScale{1.0, 0.001}), c10::Error);
}

TEST(EpsScaleText, ParsesBOrBK) {
  EXPECT_EQ(parse_eps_scale("1.017", "--eps-scale"), (EpsScale{1.017, 0.0}));
  EXPECT_EQ(parse_eps_scale("1,0.0003", "--eps-scale"), (EpsScale{1.0, 0.0003}));
  EXPECT_EQ(parse_eps_scale("1.02,-1e-4", "--eps-scale"), (EpsScale{1.02, -1e-4}));
  EXPECT_TRUE(parse_eps_scale("1", "x").is_identity());
  EXPECT_FALSE(parse_eps_scale("1,0.0001", "x").is_identity());
  for (const std::string bad : {"", "abc", "1,", ",1", "1,2,3", " 1", "1 ", "nan", "inf", "1,nan", "1;2", "1.0x"}) {
    const ConfigError e = test::config_error([&] { parse_eps_scale(bad, "--eps-scale"); });
    EXPECT_EQ(e.key_path(), "--eps-scale") << "'" << bad << "'";
    EXPECT_NE(std::string(e.what()).find("'" + bad + "'"), std::string::npos) << e.what();
  }
}

TEST(EpsScaleText, NamesTheSchedule) {
  EXPECT_EQ(eps_scale_text({1.017, 0.0}), "1.017");
  EXPECT_EQ(eps_scale_text({1.0, 0.0}), "1");
  EXPECT_EQ(eps_scale_text({1.0, 0.0003}), "1+0.0003i");
  EXPECT_EQ(eps_scale_text({1.005, -0.0001}), "1.005-0.0001i");
}

TEST(EpsScaleText, ValidatesLambdaOverTheChain) {
  EXPECT_NO_THROW(validate_eps_scale({1.017, 0.0}, 100, "", "--eps-scale"));
  EXPECT_NO_THROW(validate_eps_scale({1.0, -0.02}, 50, "", "--eps-scale"));  // lambda_49 = 0.02
  struct Bad {
    EpsScale s;
    int steps;
    std::string says;
  };
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (const Bad& b : {Bad{{1.0, -0.02}, 100, "-0.98 at i = 99"}, Bad{{0.0, 0.0}, 10, "got 0 at i = 0"},
                       Bad{{-1.0, 0.1}, 100, "got -1 at i = 0"}, Bad{{nan, 0.0}, 10, "finite"},
                       Bad{{1.0, std::numeric_limits<double>::infinity()}, 10, "finite"}}) {
    const ConfigError e = test::config_error([&] { validate_eps_scale(b.s, b.steps, "exp.yaml", "eval.eps_scale"); });
    EXPECT_EQ(e.key_path(), "eval.eps_scale");
    EXPECT_NE(std::string(e.what()).find(b.says), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("exp.yaml"), std::string::npos) << e.what();
  }
}

TEST(SampleLoopFrom, FromTheSameXTIsSampleLoop) {
  const auto d = learned("12");
  const auto model = smooth_model();
  for (bool ddim : {false, true}) {
    SampleOptions o;
    o.ddim = ddim;
    o.eta = ddim ? 0.5 : 0.0;
    o.eps_scale = {1.01, 0.001};
    auto gen_a = at::detail::createCPUGenerator(21);
    auto want = sample_loop(d, model, {2, 3, 4, 4}, gen_a, torch::kCPU, o);
    // sample_loop draws x_T first from the generator, then each step's z: the same stream.
    auto gen_b = at::detail::createCPUGenerator(21);
    auto x_T = torch::randn({2, 3, 4, 4}, gen_b, torch::kFloat32);
    std::vector<std::pair<int, int>> progress;
    o.progress = [&](int done, int total) { progress.emplace_back(done, total); };
    auto got = sample_loop_from(d, model, x_T, d.num_timesteps() - 1, gen_b, o);
    EXPECT_TRUE(torch::equal(got, want)) << "ddim " << ddim;
    ASSERT_EQ(progress.size(), 12u);
    EXPECT_EQ(progress.front(), std::make_pair(1, 12));
    EXPECT_EQ(progress.back(), std::make_pair(12, 12));
  }
}

TEST(SampleLoopFrom, RunsIndicesFirstDownToZero) {
  const auto d = learned("20");
  std::vector<int64_t> seen;  // original timesteps, one per step (the rows share it)
  ModelFn model = [&](const torch::Tensor& x, const torch::Tensor& t) {
    seen.push_back(t[0].item<int64_t>());
    return torch::cat({0.1 * x, torch::zeros_like(x)}, 1);
  };
  auto gen = at::detail::createCPUGenerator(4);
  auto x = torch::randn({2, 3, 4, 4});
  auto out = sample_loop_from(d, model, x, 6, gen, SampleOptions{});
  std::vector<int64_t> want;
  for (int i = 6; i >= 0; --i) want.push_back(d.timestep_map()[static_cast<size_t>(i)]);
  EXPECT_EQ(seen, want);
  EXPECT_EQ(out.sizes(), x.sizes());
  // Index 0 is the last step: one step from x at index 0 adds no noise, whatever the generator.
  auto g1 = at::detail::createCPUGenerator(1), g2 = at::detail::createCPUGenerator(2);
  EXPECT_TRUE(torch::equal(sample_loop_from(d, model, x, 0, g1, SampleOptions{}),
                           sample_loop_from(d, model, x, 0, g2, SampleOptions{})));
  EXPECT_THROW(sample_loop_from(d, model, x, 20, gen, SampleOptions{}), c10::Error);
  EXPECT_THROW(sample_loop_from(d, model, x, -1, gen, SampleOptions{}), c10::Error);
}

TEST(EpsScaleGpu, StepOnCudaMatchesTheCpu) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device: the gpu tier compares CUDA with the CPU";
  const auto d = learned("20");
  torch::manual_seed(6);
  auto x = torch::randn({3, 3, 4, 4});
  auto eps = torch::randn({3, 3, 4, 4});
  auto z = torch::randn({3, 3, 4, 4});
  auto t = torch::tensor({0, 7, 19}, torch::kInt64);
  const EpsScale s{1.01, 0.002};
  const auto cuda = torch::Device(torch::kCUDA);
  for (bool ddim : {false, true}) {
    SampleOptions o;
    o.ddim = ddim;
    o.eta = ddim ? 0.5 : 0.0;
    o.eps_scale = s;
    auto want = reverse_step(d, fixed_eps(eps), x, t, z, o);
    auto got = reverse_step(d, fixed_eps(eps.to(cuda)), x.to(cuda), t.to(cuda), z.to(cuda), o);
    // Elementwise float32 maths only: a few ulps (CUDA's sqrt, exp and division round alike or by one ulp).
    EXPECT_TRUE(torch::allclose(got.sample.cpu(), want.sample, 1e-5, 1e-5)) << "ddim " << ddim;
    EXPECT_TRUE(torch::allclose(got.pred_xstart.cpu(), want.pred_xstart, 1e-5, 1e-5)) << "ddim " << ddim;
  }
}
