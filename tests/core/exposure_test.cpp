// core::measure_exposure against closed forms. Truth: an oracle network that returns (a known
// multiple of) the true eps of q(x_t | x0) for the x0 it was built with. With fixed-small
// variances its reverse step samples q(x_{t-1} | x_t, x0) exactly, so every x̂_t of the chain is
// distributed as q(x_t | x0): the M = N C H W elements of (x̂_t - sqrt(abar_t) x0) / sqrt(1 - abar_t)
// are iid N(0, 1), whose mean of squares has mean 1 and relative std sqrt(2 / M) (chi-square), and
// the oracle's eps norm per image is chi with d = C H W degrees of freedom (mean
// sqrt(2) Gamma((d + 1) / 2) / Gamma(d / 2), variance d - mean^2). Bounds are 6 standard
// deviations. A biased eps (beta_i times the truth) keeps every element Gaussian and iid, with the
// variance v_t of the recursion written out below from abar alone (not from the code's posterior).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <functional>
#include <vector>

#include "base/util/errors.h"
#include "core/diffusion/exposure.h"
#include "core/diffusion/gaussian_diffusion.h"

using namespace repro::core;

namespace {

constexpr int64_t kN = 128, kC = 3, kSide = 8;
constexpr int64_t kD = kC * kSide * kSide;  // elements per image
constexpr int64_t kM = kN * kD;             // elements per batch

DiffusionConfig fixed_small(const std::string& schedule) {
  DiffusionConfig c;
  c.noise_schedule = schedule;
  c.sigma_small = true;
  return c;
}

torch::Tensor images(int64_t n, uint64_t seed) {
  auto g = at::detail::createCPUGenerator(seed);
  return torch::rand({n, kC, kSide, kSide}, g, torch::kFloat32) * 2 - 1;
}

// beta[timestep] times the true eps of q(x_t | x0) for the known x0, in float64 from abar of the
// ORIGINAL timestep the model is called with (so it is the oracle on respaced processes too);
// `learn_sigma` appends C channels of ones (a v the measurement must not count as eps).
ModelFn oracle(const torch::Tensor& x0, const GaussianDiffusion& base, std::vector<double> beta = {},
               bool learn_sigma = false) {
  const auto f64 = torch::dtype(torch::kFloat64);
  if (beta.empty()) beta.assign(static_cast<size_t>(base.num_timesteps()), 1.0);
  const torch::Tensor abar = torch::tensor(base.schedule().alphas_cumprod, f64);
  const torch::Tensor factor = torch::tensor(beta, f64);
  return [=](const torch::Tensor& x, const torch::Tensor& timesteps) {
    const auto t = timesteps.to(torch::kInt64);
    const auto a = abar.index_select(0, t).reshape({-1, 1, 1, 1});
    const auto f = factor.index_select(0, t).reshape({-1, 1, 1, 1});
    const auto eps =
        (f * (x.to(torch::kFloat64) - a.sqrt() * x0.to(torch::kFloat64)) / (1 - a).sqrt()).to(torch::kFloat32);
    return learn_sigma ? torch::cat({eps, torch::ones_like(eps)}, 1) : eps;
  };
}

// beta_i of the respaced index i, as a table over the original timesteps the oracle sees.
std::vector<double> per_original_timestep(const GaussianDiffusion& d, const std::function<double(int)>& beta) {
  std::vector<double> out(static_cast<size_t>(d.original_num_steps()), 1.0);
  for (int i = 0; i < d.num_timesteps(); ++i) out[static_cast<size_t>(d.timestep_map()[i])] = beta(i);
  return out;
}

std::vector<ExposureStep> measure(const GaussianDiffusion& d, const ModelFn& model, const torch::Tensor& x0,
                                  const ExposureOptions& options, uint64_t seed = 1) {
  auto g = at::detail::createCPUGenerator(seed);
  ExposureSums sums(d.num_timesteps());
  measure_exposure(d, model, x0, g, options, sums);
  return sums.steps(d);
}

double chi_mean(double d) { return std::sqrt(2.0) * std::exp(std::lgamma((d + 1) / 2) - std::lgamma(d / 2)); }
double chi_std(double d) { return std::sqrt(d - chi_mean(d) * chi_mean(d)); }

const double kRatioBound = 6 * std::sqrt(2.0 / kM);                                        // relative
const double kNormBound = 6 * chi_std(kD) / std::sqrt(static_cast<double>(kN));            // one mean norm
const double kNormDiffBound = 6 * chi_std(kD) * std::sqrt(2.0 / static_cast<double>(kN));  // two

// Posterior coefficients of q(x_{t-1} | x_t, x0) from abar alone: mean c1 x0 + c2 x_t, variance s2.
struct Posterior {
  double c1, c2, s2;
};
Posterior posterior(const std::vector<double>& abar, int t) {
  const double a = abar[t], a_prev = abar[t - 1], beta = 1 - a / a_prev;
  return {std::sqrt(a_prev) * beta / (1 - a), std::sqrt(1 - beta) * (1 - a_prev) / (1 - a),
          beta * (1 - a_prev) / (1 - a)};
}

// Var of x_{t-1} - sqrt(abar_{t-1}) x0 after one unclipped ancestral step from a stochastic part
// of variance v whose eps the model overstates by r = beta_t / lambda_t: the x0 prediction is
// x0 + (1 - r) s / sqrt(abar_t), so the step maps s to (c2 + c1 (1 - r) / sqrt(abar_t)) s + sigma z.
double stepped_variance(const std::vector<double>& abar, int t, double v, double r) {
  const Posterior p = posterior(abar, t);
  const double a = p.c2 + p.c1 * (1 - r) / std::sqrt(abar[t]);
  return a * a * v + p.s2;
}

// The same for a DDIM step with `eta`: the step re-derives eps' = r s / sqrt(1 - abar_t) from the
// x0 prediction, and x_{t-1} = sqrt(abar_{t-1}) x0_pred + sqrt(1 - abar_{t-1} - sigma^2) eps' + sigma z.
double ddim_stepped_variance(const std::vector<double>& abar, int t, double v, double r, double eta) {
  const double a = abar[t], a_prev = abar[t - 1];
  const double sigma2 = eta * eta * (1 - a_prev) / (1 - a) * (1 - a / a_prev);
  const double coef = std::sqrt(a_prev / a) * (1 - r) + std::sqrt((1 - a_prev - sigma2) / (1 - a)) * r;
  return coef * coef * v + sigma2;
}

// The chain's variance ratio v_t / (1 - abar_t) from the top index down; step(t, v) is v_{t-1}.
std::vector<double> chain_ratios(const std::vector<double>& abar, const std::function<double(int, double)>& step) {
  const int T = static_cast<int>(abar.size());
  std::vector<double> ratio(abar.size(), 1.0);
  double v = 1 - abar[T - 1];
  for (int t = T - 1; t >= 1; --t) {
    v = step(t, v);
    ratio[t - 1] = v / (1 - abar[t - 1]);
  }
  return ratio;
}

// The ancestral chain whose eps is overstated by r(t).
std::vector<double> chain_ratios(const std::vector<double>& abar, const std::function<double(int)>& r) {
  return chain_ratios(abar, [&](int t, double v) { return stepped_variance(abar, t, v, r(t)); });
}

// Every record: the variance ratio within sampling error of `expected` (relative), the sample
// eps norm that of a chi scaled by `beta` sqrt(expected ratio), the training one beta chi.
void expect_ratios(const std::vector<ExposureStep>& records, const std::vector<double>& expected,
                   const std::function<double(int)>& beta) {
  for (const ExposureStep& r : records) {
    const double want = expected[r.index], b = beta(r.index);
    EXPECT_NEAR(r.var_ratio, want, kRatioBound * want) << "t = " << r.index;
    EXPECT_NEAR(r.eps_norm_sample, b * std::sqrt(want) * chi_mean(kD), b * std::sqrt(want) * kNormBound)
        << "t = " << r.index;
    EXPECT_NEAR(r.eps_norm_train, b * chi_mean(kD), b * kNormBound) << "t = " << r.index;
  }
}

void expect_no_exposure_bias(const std::vector<ExposureStep>& records) {
  for (const ExposureStep& r : records) {
    EXPECT_NEAR(r.var_ratio, 1.0, kRatioBound) << "t = " << r.index;
    EXPECT_NEAR(r.eps_norm_sample, chi_mean(kD), kNormBound) << "t = " << r.index;
    EXPECT_NEAR(r.eps_norm_train, chi_mean(kD), kNormBound) << "t = " << r.index;
    EXPECT_NEAR(r.eps_norm_sample, r.eps_norm_train, kNormDiffBound) << "t = " << r.index;
  }
}

std::vector<double> respaced_abar(const GaussianDiffusion& d) { return d.schedule().alphas_cumprod; }

}  // namespace

TEST(Exposure, OracleChainHasNoExposureBias) {
  const GaussianDiffusion base(fixed_small("cosine"));
  const GaussianDiffusion d = base.respaced("100");
  const auto x0 = images(kN, 3);
  const auto records = measure(d, oracle(x0, base), x0, {});
  ASSERT_EQ(records.size(), 100u);
  for (size_t k = 0; k < records.size(); ++k) {
    const int t = 99 - static_cast<int>(k);
    EXPECT_EQ(records[k].index, t);
    EXPECT_EQ(records[k].timestep, d.timestep_map()[t]);
    EXPECT_EQ(records[k].var_train, 1 - d.schedule().alphas_cumprod[t]);
    EXPECT_EQ(records[k].var_ratio, records[k].var_sample / records[k].var_train);
  }
  EXPECT_EQ(records.front().timestep, 999);
  EXPECT_EQ(records.back().timestep, 0);
  expect_no_exposure_bias(records);
}

TEST(Exposure, OracleDdimChainsHaveNoExposureBias) {
  // DDIM keeps the marginals q(x_t | x0) for every eta; with eta 0 each x̂_t carries the start's eps.
  const GaussianDiffusion base(fixed_small("linear"));
  const GaussianDiffusion d = base.respaced("ddim50");
  const auto x0 = images(kN, 4);
  for (const double eta : {0.0, 0.5}) {
    ExposureOptions o;
    o.sample.ddim = true;
    o.sample.eta = eta;
    const auto records = measure(d, oracle(x0, base), x0, o);
    ASSERT_EQ(records.size(), 50u);
    SCOPED_TRACE("eta " + std::to_string(eta));
    expect_no_exposure_bias(records);
  }
}

TEST(Exposure, OracleStepModeHasNoExposureBias) {
  const GaussianDiffusion base(fixed_small("cosine"));
  const GaussianDiffusion d = base.respaced("50");
  const auto x0 = images(kN, 5);
  ExposureOptions o;
  o.mode = ExposureMode::kStep;
  const auto records = measure(d, oracle(x0, base), x0, o);
  ASSERT_EQ(records.size(), 49u);  // x̂_t for t = T - 2 ... 0
  EXPECT_EQ(records.front().index, 48);
  EXPECT_EQ(records.back().index, 0);
  expect_no_exposure_bias(records);
}

TEST(Exposure, ChainFromXkRunsTheFullProcessFromIndexKMinus1) {
  const GaussianDiffusion d(fixed_small("linear"));
  const auto x0 = images(16, 6);
  ExposureOptions o;
  o.start = 10;
  const auto records = measure(d, oracle(x0, d), x0, o);
  ASSERT_EQ(records.size(), 10u);
  EXPECT_EQ(records.front().index, 9);
  EXPECT_EQ(records.front().timestep, 9);
  const double bound = 6 * std::sqrt(2.0 / (16 * kD));
  for (const auto& r : records) EXPECT_NEAR(r.var_ratio, 1.0, bound) << "t = " << r.index;
  // start = T is the chain from q(x_T | x0): the same draws, the same numbers.
  o.start = 1000;
  const auto from_t = measure(d, oracle(x0, d), x0, o);
  const auto from_top = measure(d, oracle(x0, d), x0, {});
  ASSERT_EQ(from_t.size(), 1000u);
  ASSERT_EQ(from_top.size(), 1000u);
  for (size_t k = 0; k < from_t.size(); k += 111) {
    EXPECT_EQ(from_t[k].var_sample, from_top[k].var_sample);
    EXPECT_EQ(from_t[k].eps_norm_sample, from_top[k].eps_norm_sample);
  }
}

TEST(Exposure, StartNeedsTheFullProcessAndChainMode) {
  const GaussianDiffusion base(fixed_small("linear"));
  const auto x0 = images(2, 7);
  ExposureOptions o;
  o.start = 5;
  EXPECT_THROW(measure(base.respaced("100"), oracle(x0, base), x0, o), c10::Error);
  o.mode = ExposureMode::kStep;
  EXPECT_THROW(measure(base, oracle(x0, base), x0, o), c10::Error);
  o.mode = ExposureMode::kChain;
  o.start = 1001;
  EXPECT_THROW(measure(base, oracle(x0, base), x0, o), c10::Error);
}

TEST(Exposure, OverstatedEpsShrinksTheChainsVarianceAsTheRecursionSays) {
  // beta_i = 1.02 + 0.002 i: the x0 prediction keeps part of the noise out, so the chain's x̂_t
  // are too close to sqrt(abar_t) x0 (ratio < 1), and the eps norm on them falls below training's.
  const GaussianDiffusion base(fixed_small("linear"));
  const GaussianDiffusion d = base.respaced("100");
  const auto beta = [](int i) { return 1.02 + 0.002 * i; };
  const auto x0 = images(kN, 8);
  ExposureOptions o;
  o.sample.clip_denoised = false;  // the recursion is linear
  const auto records = measure(d, oracle(x0, base, per_original_timestep(d, beta)), x0, o);
  const auto expected = chain_ratios(respaced_abar(d), beta);
  ASSERT_LT(expected[50], 1 - 2 * kRatioBound);  // the test can tell the bias from sampling error
  expect_ratios(records, expected, beta);
  EXPECT_LT(records[49].var_ratio, 1 - kRatioBound);
  EXPECT_LT(records[49].eps_norm_sample, records[49].eps_norm_train - kNormDiffBound);
}

TEST(Exposure, OverstatedEpsInStepModeFollowsOneStepOfTheRecursion) {
  const GaussianDiffusion base(fixed_small("linear"));
  const GaussianDiffusion d = base.respaced("100");
  const auto x0 = images(kN, 9);
  ExposureOptions o;
  o.mode = ExposureMode::kStep;
  o.sample.clip_denoised = false;
  const auto records = measure(d, oracle(x0, base, per_original_timestep(d, [](int) { return 1.5; })), x0, o);
  const auto abar = respaced_abar(d);
  std::vector<double> expected(abar.size(), 1.0);
  for (int t = 0; t + 1 < d.num_timesteps(); ++t)
    expected[t] = stepped_variance(abar, t + 1, 1 - abar[t + 1], 1.5) / (1 - abar[t]);
  ASSERT_LT(expected[10], 1 - 2 * kRatioBound);  // one step moves it less than a chain
  expect_ratios(records, expected, [](int) { return 1.5; });
}

TEST(Exposure, EpsilonScalingWithTheBiasUndoesItAndOverScalingOvershoots) {
  // lambda_i = beta_i divides the bias away: the oracle's chain again (ratio 1), while the eps
  // measured stays the raw one (beta chi). lambda = 1.1 > beta_i at low i leaves too much noise in.
  const GaussianDiffusion base(fixed_small("linear"));
  const GaussianDiffusion d = base.respaced("100");
  const auto beta = [](int i) { return 1.02 + 0.002 * i; };
  const auto x0 = images(kN, 10);
  const ModelFn model = oracle(x0, base, per_original_timestep(d, beta));
  ExposureOptions o;
  o.sample.clip_denoised = false;
  o.sample.eps_scale = {1.02, 0.002};
  expect_ratios(measure(d, model, x0, o), std::vector<double>(100, 1.0), beta);
  o.sample.eps_scale = {1.1, 0};
  const auto expected = chain_ratios(respaced_abar(d), [&](int i) { return beta(i) / 1.1; });
  ASSERT_GT(expected[2], 1 + 2 * kRatioBound);
  expect_ratios(measure(d, model, x0, o), expected, beta);
}

TEST(Exposure, EpsilonScalingUndoesTheBiasOfDdimToo) {
  const GaussianDiffusion base(fixed_small("linear"));
  const GaussianDiffusion d = base.respaced("ddim50");
  const auto x0 = images(kN, 11);
  const ModelFn model = oracle(x0, base, per_original_timestep(d, [](int) { return 1.1; }));
  ExposureOptions o;
  o.sample.ddim = true;
  o.sample.eta = 0.5;
  o.sample.eps_scale = {1.1, 0};
  expect_ratios(measure(d, model, x0, o), std::vector<double>(50, 1.0), [](int) { return 1.1; });
  o.sample.eps_scale = {};
  o.sample.clip_denoised = false;  // the recursion is linear
  const auto abar = respaced_abar(d);
  const auto expected =
      chain_ratios(abar, [&](int t, double v) { return ddim_stepped_variance(abar, t, v, 1.1, 0.5); });
  ASSERT_LT(expected[25], 1 - 2 * kRatioBound);  // the bias shows without the scaling
  expect_ratios(measure(d, model, x0, o), expected, [](int) { return 1.1; });
}

TEST(Exposure, LambdaOneIsTheUnscaledMeasurementBitForBit) {
  const GaussianDiffusion base(fixed_small("linear"));
  const GaussianDiffusion d = base.respaced("20");
  const auto x0 = images(8, 12);
  const ModelFn model = oracle(x0, base, per_original_timestep(d, [](int) { return 1.1; }));
  ExposureOptions unscaled, one;
  one.sample.eps_scale = {1.0, 0.0};
  const auto a = measure(d, model, x0, unscaled), b = measure(d, model, x0, one);
  ASSERT_EQ(a.size(), b.size());
  for (size_t k = 0; k < a.size(); ++k) {
    EXPECT_EQ(a[k].var_sample, b[k].var_sample);
    EXPECT_EQ(a[k].eps_norm_sample, b[k].eps_norm_sample);
    EXPECT_EQ(a[k].eps_norm_train, b[k].eps_norm_train);
  }
  one.sample.eps_scale = {1.1, 0.0};  // while a lambda != 1 reaches the chain
  EXPECT_NE(measure(d, model, x0, one)[10].var_sample, a[10].var_sample);
}

TEST(Exposure, LearnedSigmaChannelsAreNotPartOfEps) {
  DiffusionConfig c;
  c.learn_sigma = true;
  const GaussianDiffusion base(c);
  const GaussianDiffusion d = base.respaced("10");
  const auto x0 = images(kN, 13);
  // v = 1 (the learned range's upper end: beta_t); counted as eps it would make the norm chi_2d.
  const auto records = measure(d, oracle(x0, base, {}, /*learn_sigma=*/true), x0, {});
  ASSERT_EQ(records.size(), 10u);
  for (const auto& r : records) EXPECT_NEAR(r.eps_norm_train, chi_mean(kD), kNormBound) << "t = " << r.index;
}

TEST(Exposure, SumsCombineBatchesIntoMeansOverAllImages) {
  DiffusionConfig c;
  c.diffusion_steps = 4;
  const GaussianDiffusion d(c);
  ExposureSums sums(4);
  auto t = [](std::vector<float> v, int64_t n) { return torch::tensor(v).reshape({n, 1, 1, 2}); };
  // Image norms: sample 5 | 10, 0; train 2 | 1, 1. Squared deviations: 2 | 4 over 2 + 4 elements.
  sums.add(2, t({3, 4}, 1), t({0, 2}, 1), t({1, -1}, 1));
  sums.add(2, t({6, 8, 0, 0}, 2), t({1, 0, 0, 1}, 2), t({2, 0, 0, 0}, 2));
  sums.add(0, t({0, 7}, 1), t({7, 0}, 1), t({0, 0.5}, 1));
  const auto steps = sums.steps(d);
  ASSERT_EQ(steps.size(), 2u);  // indices without measurements are left out; high t first
  EXPECT_EQ(steps[0].index, 2);
  EXPECT_DOUBLE_EQ(steps[0].eps_norm_sample, 5.0);
  EXPECT_DOUBLE_EQ(steps[0].eps_norm_train, 4.0 / 3);
  EXPECT_DOUBLE_EQ(steps[0].var_sample, 1.0);
  // The cosine schedule in closed form: abar_t = f(t + 1) / f(0), f(u) = cos((u / T + s) / (1 + s) pi / 2)^2.
  const auto f = [](double u) { return std::pow(std::cos((u / 4 + 0.008) / 1.008 * M_PI / 2), 2); };
  EXPECT_NEAR(steps[0].var_train, 1 - f(3) / f(0), 1e-12);
  EXPECT_DOUBLE_EQ(steps[0].var_ratio, 1.0 / steps[0].var_train);
  EXPECT_EQ(steps[1].index, 0);
  EXPECT_DOUBLE_EQ(steps[1].eps_norm_sample, 7.0);
  EXPECT_DOUBLE_EQ(steps[1].var_sample, 0.125);
  EXPECT_THROW(sums.add(4, t({0, 0}, 1), t({0, 0}, 1), t({0, 0}, 1)), c10::Error);
}

TEST(Exposure, ModeNames) {
  EXPECT_EQ(parse_exposure_mode("chain", "--mode"), ExposureMode::kChain);
  EXPECT_EQ(parse_exposure_mode("step", "--mode"), ExposureMode::kStep);
  EXPECT_EQ(exposure_mode_name(ExposureMode::kStep), "step");
  try {
    parse_exposure_mode("chains", "--mode");
    FAIL() << "no ConfigError";
  } catch (const repro::ConfigError& e) {
    EXPECT_EQ(e.key_path(), "--mode");
    EXPECT_NE(std::string(e.what()).find("'chains'"), std::string::npos);
  }
}
