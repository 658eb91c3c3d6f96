// Dynamic loss scaling (fp16_util): an injected inf gradient skips the step and lowers the scale;
// good steps unscale into float32 masters and grow it. bfloat16 stands in for float16 on the CPU.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "core/train/mixed_precision.h"
#include "tests/support/tiny_unet.h"

using namespace repro;
using namespace repro::core;

namespace {
UNetConfig tiny() {
  UNetConfig c = test::tiny_unet(8, {1, 1});
  c.learn_sigma = c.resblock_updown = c.use_new_attention_order = false;
  return c;
}
}  // namespace

TEST(LossScaling, InfGradientSkipsAndHalvesTheScale) {
  UNetModel model(tiny());
  MixedPrecision mp(model, torch::kBFloat16, /*loss_scaling=*/true, 20.0, 1e-3);
  EXPECT_EQ(mp.master_params()[0].scalar_type(), torch::kFloat32);
  auto x = torch::randn({2, 3, 8, 8});
  auto t = torch::tensor({1, 500}, torch::kInt64);
  auto loss = model->forward(x, t).pow(2).mean();
  mp.scale_loss(loss).backward();
  // Inject an inf into one gradient of the torso.
  auto params = model->parameters();
  params[4].mutable_grad().view(-1)[0] = std::numeric_limits<float>::infinity();
  double norm = 0;
  EXPECT_FALSE(mp.grads_to_master(&norm));
  EXPECT_FALSE(std::isfinite(norm));
  EXPECT_DOUBLE_EQ(mp.lg_loss_scale(), 19.0);
}

TEST(LossScaling, GoodStepUnscalesIntoMastersAndGrows) {
  UNetModel model(tiny());
  {
    torch::NoGradGuard ng;
    torch::manual_seed(1);
    for (auto& p : model->parameters()) p.copy_(torch::randn_like(p) * 0.1);
  }
  MixedPrecision mp(model, torch::kBFloat16, /*loss_scaling=*/true, 4.0, 1e-3);
  auto loss = model->forward(torch::randn({2, 3, 8, 8}), torch::tensor({1, 500}, torch::kInt64)).pow(2).mean();
  mp.scale_loss(loss).backward();
  auto params = model->parameters();
  std::vector<torch::Tensor> scaled;
  for (auto& p : params) scaled.push_back(p.grad().to(torch::kFloat32).clone());
  double norm = 0;
  ASSERT_TRUE(mp.grads_to_master(&norm));
  EXPECT_DOUBLE_EQ(mp.lg_loss_scale(), 4.001);
  double sq = 0;
  for (size_t i = 0; i < params.size(); ++i) {
    const auto& g = mp.master_params()[i].grad();
    ASSERT_TRUE(g.defined()) << i;
    EXPECT_EQ(g.scalar_type(), torch::kFloat32);
    EXPECT_TRUE(torch::allclose(g, scaled[i] / 16.0, 1e-6, 0)) << i;  // 2^4
    sq += (scaled[i] / 16.0).to(torch::kFloat64).pow(2).sum().item<double>();
  }
  EXPECT_NEAR(norm, std::sqrt(sq), 1e-9 * std::sqrt(sq));
  // masters_to_model: the half torso takes the (rounded) master values.
  {
    torch::NoGradGuard ng;
    for (auto& m : mp.master_params()) const_cast<torch::Tensor&>(m).add_(1.0);
  }
  mp.masters_to_model();
  for (size_t i = 0; i < params.size(); ++i)
    EXPECT_TRUE(torch::allclose(params[i].to(torch::kFloat32), mp.master_params()[i], 1e-2, 1e-2)) << i;
}

TEST(LossScaling, Float32UsesTheParametersThemselves) {
  UNetModel model(tiny());
  MixedPrecision mp(model, torch::kFloat32, false);
  auto params = model->parameters();
  ASSERT_EQ(mp.master_params().size(), params.size());
  for (size_t i = 0; i < params.size(); ++i) EXPECT_TRUE(mp.master_params()[i].is_same(params[i]));
  EXPECT_TRUE(torch::equal(mp.scale_loss(torch::ones({})), torch::ones({})));
}
