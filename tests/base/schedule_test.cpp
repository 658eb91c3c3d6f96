// Truth: closed-form values of the cosine schedule computed by hand / with Python's float64 maths
// (paper-spec.md §5.1), and the defining identities of the derived quantities.
#include <gtest/gtest.h>

#include <cmath>

#include "base/diffusion/respace.h"
#include "base/diffusion/schedule.h"
#include "base/util/errors.h"

using namespace repro::core;

TEST(Schedule, CosineMatchesPublishedValues) {
  auto betas = get_named_beta_schedule(BetaSchedule::kCosine, 1000);
  ASSERT_EQ(betas.size(), 1000u);
  EXPECT_NEAR(betas[0], 4.128422482e-05, 1e-14);
  EXPECT_NEAR(betas[1], 4.614175274e-05, 1e-14);
  EXPECT_NEAR(betas[499], 3.14588623e-03, 1e-11);
  EXPECT_NEAR(betas[998], 0.7499993929, 1e-9);
  EXPECT_EQ(betas[999], 0.999);  // the only clipped value
  int clipped = 0;
  for (double b : betas) clipped += b == 0.999;
  EXPECT_EQ(clipped, 1);
  auto s = make_schedule(betas);
  EXPECT_NEAR(s.alphas_cumprod[0], 0.9999587158, 1e-10);
  EXPECT_NEAR(s.alphas_cumprod[999] / 2.428766907e-09, 1.0, 1e-8);
}

TEST(Schedule, CosineFirstBetaFromTheFormula) {
  // beta_0 = 1 - abar(1/T) / abar(0), abar(t) = cos((t + 0.008) / 1.008 * pi / 2)^2.
  auto abar = [](double t) {
    double c = std::cos((t + 0.008) / 1.008 * M_PI / 2);
    return c * c;
  };
  auto betas = get_named_beta_schedule(BetaSchedule::kCosine, 50);
  EXPECT_DOUBLE_EQ(betas[0], 1 - abar(1.0 / 50) / abar(0.0));
  EXPECT_DOUBLE_EQ(betas[20], 1 - abar(21.0 / 50) / abar(20.0 / 50));
}

TEST(Schedule, LinearEndpointsScaleWithT) {
  auto b = get_named_beta_schedule(BetaSchedule::kLinear, 1000);
  EXPECT_DOUBLE_EQ(b.front(), 1e-4);
  EXPECT_DOUBLE_EQ(b.back(), 0.02);
  EXPECT_NEAR(b[1] - b[0], (0.02 - 1e-4) / 999, 1e-18);
  auto b4 = get_named_beta_schedule(BetaSchedule::kLinear, 4000);  // scale 1000 / 4000
  EXPECT_DOUBLE_EQ(b4.front(), 0.25 * 1e-4);
  EXPECT_DOUBLE_EQ(b4.back(), 0.25 * 0.02);
}

TEST(Schedule, DerivedQuantitiesSatisfyTheirDefinitions) {
  auto s = make_schedule(get_named_beta_schedule(BetaSchedule::kCosine, 1000));
  for (int t : {0, 1, 10, 500, 998, 999}) {
    const double ac = s.alphas_cumprod[t];
    const double acp = t == 0 ? 1.0 : s.alphas_cumprod[t - 1];
    EXPECT_DOUBLE_EQ(s.alphas_cumprod_prev[t], acp);
    EXPECT_DOUBLE_EQ(s.sqrt_alphas_cumprod[t] * s.sqrt_alphas_cumprod[t], ac) << t;
    // Posterior q(x_{t-1} | x_t, x_0): variance and mean coefficients (Ho et al. eq. 7).
    EXPECT_NEAR(s.posterior_variance[t], s.betas[t] * (1 - acp) / (1 - ac), 1e-15);
    EXPECT_NEAR(s.posterior_mean_coef1[t], s.betas[t] * std::sqrt(acp) / (1 - ac), 1e-12);
    EXPECT_NEAR(s.posterior_mean_coef2[t], (1 - acp) * std::sqrt(1 - s.betas[t]) / (1 - ac), 1e-12);
  }
  EXPECT_EQ(s.posterior_variance[0], 0.0);
  EXPECT_EQ(s.posterior_log_variance_clipped[0], std::log(s.posterior_variance[1]));
  EXPECT_EQ(s.posterior_log_variance_clipped[1], std::log(s.posterior_variance[1]));
  EXPECT_EQ(s.alphas_cumprod_next[999], 0.0);
  // For x_0 given exactly, the posterior mean at t = 1 with coef1 + coef2 * sqrt(abar_t) ... the
  // mean of x_{t-1} must equal sqrt(abar_{t-1}) x_0 when x_t = sqrt(abar_t) x_0 (no noise).
  for (int t : {1, 100, 999}) {
    const double x0 = 0.7;
    const double xt = s.sqrt_alphas_cumprod[t] * x0;
    EXPECT_NEAR(s.posterior_mean_coef1[t] * x0 + s.posterior_mean_coef2[t] * xt,
                std::sqrt(s.alphas_cumprod_prev[t]) * x0, 1e-12);
  }
}

TEST(Schedule, RespacedBetasKeepAlphasCumprod) {
  auto base = make_schedule(get_named_beta_schedule(BetaSchedule::kCosine, 1000));
  auto steps = space_timesteps(1000, "100");
  auto spaced = make_schedule(respaced_betas(base.alphas_cumprod, steps));
  ASSERT_EQ(spaced.num_timesteps(), 100);
  for (int k = 0; k < 100; ++k) EXPECT_NEAR(spaced.alphas_cumprod[k], base.alphas_cumprod[steps[k]], 1e-15);
  EXPECT_DOUBLE_EQ(spaced.betas[0], base.betas[0]);
  EXPECT_NEAR(spaced.betas[99], 0.99999, 5e-6);  // paper-spec §5.6
  auto full = respaced_betas(base.alphas_cumprod, space_timesteps(1000, "1000"));
  EXPECT_NEAR(full[999], 0.999, 1e-12);
}

TEST(Schedule, RejectsBetasOutsideTheUnitInterval) {
  EXPECT_THROW(make_schedule({0.1, 1.5}), repro::ConfigError);
  EXPECT_THROW(make_schedule({}), repro::ConfigError);
}
