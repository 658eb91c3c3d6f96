// Truth: the closed form of the EMA recursion for constant parameters, a float64 recursion for
// changing ones, and exact equality where the arithmetic is exact (rate 0, copy_to, load).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <vector>

#include "base/util/errors.h"
#include "core/train/ema.h"

using namespace repro::core;

namespace {

std::vector<torch::Tensor> make_params(double value) {
  return {torch::full({3, 4}, value, torch::requires_grad()), torch::full({5}, value, torch::requires_grad())};
}

void fill_all(const std::vector<torch::Tensor>& params, double value) {
  torch::NoGradGuard no_grad;
  for (const auto& p : params) p.fill_(value);
}

}  // namespace

TEST(Ema, ConstantParamsMatchClosedForm) {
  const double rate = 0.9, s0 = -0.5, c = 0.75;
  auto params = make_params(s0);
  Ema ema(rate, params);
  fill_all(params, c);
  for (int k = 1; k <= 20; ++k) {
    ema.update(params);
    const double want = c + (s0 - c) * std::pow(rate, k);
    for (const auto& s : ema.shadow()) {
      EXPECT_LT((s.to(torch::kFloat64) - want).abs().max().item<double>(), 1e-6) << "k=" << k;
    }
  }
}

TEST(Ema, UpdatesFromCurrentValues) {
  const double rate = 0.8;
  auto params = make_params(0.0);
  Ema ema(rate, params);
  double want = 0.0;
  for (int k = 1; k <= 10; ++k) {
    const double v = 0.1 * k * (k % 2 ? 1 : -1);
    fill_all(params, v);
    ema.update(params);
    want = want * rate + v * (1 - rate);
    EXPECT_NEAR(ema.shadow()[0][1][2].item<float>(), want, 1e-6) << "k=" << k;
    EXPECT_NEAR(ema.shadow()[1][4].item<float>(), want, 1e-6) << "k=" << k;
  }
}

TEST(Ema, ShadowIsDetachedFloat32Clone) {
  std::vector<torch::Tensor> params = {torch::full({2, 2}, 1.5, torch::dtype(torch::kFloat64).requires_grad(true))};
  Ema ema(0.9999, params);
  EXPECT_EQ(ema.rate(), 0.9999);
  ASSERT_EQ(ema.shadow().size(), 1u);
  EXPECT_EQ(ema.shadow()[0].scalar_type(), torch::kFloat32);
  EXPECT_FALSE(ema.shadow()[0].requires_grad());
  fill_all(params, 9.0);  // must not alias the parameter's storage
  EXPECT_TRUE(torch::equal(ema.shadow()[0], torch::full({2, 2}, 1.5f)));
}

TEST(Ema, RateZeroCopiesExactly) {
  auto params = make_params(0.0);
  Ema ema(0.0, params);
  {
    torch::NoGradGuard no_grad;
    for (auto& p : params) p.copy_(torch::randn(p.sizes()));
  }
  ema.update(params);
  for (size_t i = 0; i < params.size(); ++i) EXPECT_TRUE(torch::equal(ema.shadow()[i], params[i].detach()));
}

TEST(Ema, CopyToWritesShadowIntoParams) {
  auto params = make_params(1.0);
  Ema ema(0.5, params);
  fill_all(params, 3.0);
  ema.update(params);  // shadow = 2
  ema.update(params);  // shadow = 2.5
  auto target = make_params(-7.0);
  ema.copy_to(target);
  for (size_t i = 0; i < target.size(); ++i) {
    EXPECT_TRUE(torch::equal(target[i].detach(), torch::full(target[i].sizes(), 2.5f)));
    EXPECT_TRUE(target[i].requires_grad());
  }
  EXPECT_TRUE(torch::equal(params[0].detach(), torch::full({3, 4}, 3.0f)));  // sources untouched
}

TEST(Ema, LoadReplacesShadow) {
  auto params = make_params(1.0);
  Ema ema(0.9, params);
  std::vector<torch::Tensor> values = {torch::randn({3, 4}, torch::kFloat64), torch::randn({5}, torch::kFloat64)};
  ema.load(values);
  for (size_t i = 0; i < values.size(); ++i) {
    EXPECT_EQ(ema.shadow()[i].scalar_type(), torch::kFloat32);
    EXPECT_TRUE(torch::equal(ema.shadow()[i], values[i].to(torch::kFloat32)));
  }
}

TEST(Ema, RejectsMismatchedTensors) {
  auto params = make_params(1.0);
  Ema ema(0.9, params);
  EXPECT_THROW(ema.update({params[0]}), c10::Error);
  EXPECT_THROW(ema.update({params[1], params[0]}), c10::Error);
  EXPECT_THROW(ema.load({torch::zeros({3, 4}), torch::zeros({6})}), c10::Error);
  EXPECT_THROW(Ema(1.5, params), repro::ConfigError);
}
