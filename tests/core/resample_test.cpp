// Truth: the formulas of resample.py (spec §5.5) evaluated by hand on small known loss histories,
// 1 / (T p_t) recomputed from weights(), and draw frequencies against p over many draws.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <vector>

#include "base/util/errors.h"
#include "core/train/resample.h"

using namespace repro::core;

namespace {

std::vector<int64_t> to_vector(const torch::Tensor& t) {
  auto c = t.to(torch::kCPU).contiguous();
  return std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
}

std::vector<double> normalised(const std::vector<double>& w) {
  double total = 0;
  for (double x : w) total += x;
  std::vector<double> p;
  for (double x : w) p.push_back(x / total);
  return p;
}

// T = 4, history 3: t0: 1,1,1; t1: 2,2,2; t2: 0,0,3; t3: 1,2,3, fed interleaved across timesteps.
void feed_known_history(LossSecondMomentResampler& s) {
  s.update_with_losses({0, 1, 2, 3}, {1, 2, 0, 1});
  s.update_with_losses({0, 1, 2, 3}, {1, 2, 0, 2});
  s.update_with_losses({3, 2, 1, 0}, {3, 3, 2, 1});
}

// The hand computation: sqrt(mean(hist^2)) = 1, 2, sqrt(9/3), sqrt(14/3); normalise; mix with u/T.
std::vector<double> known_history_weights(double uniform_prob) {
  std::vector<double> w = {1.0, 2.0, std::sqrt(3.0), std::sqrt(14.0 / 3.0)};
  const double total = w[0] + w[1] + w[2] + w[3];
  for (double& x : w) x = x / total * (1 - uniform_prob) + uniform_prob / 4;
  return w;
}

}  // namespace

TEST(ResampleUniform, WeightsAndImportanceWeightsAreOne) {
  const int T = 49;  // 49 * (1/49) != 1 in double: the float32 weight must still be exactly 1
  UniformSampler s(T);
  EXPECT_EQ(s.weights(), std::vector<double>(T, 1.0));
  auto gen = at::detail::createCPUGenerator(0);
  auto d = s.sample(5000, gen, torch::kCPU);
  ASSERT_EQ(d.t.scalar_type(), torch::kInt64);
  ASSERT_EQ(d.weights.scalar_type(), torch::kFloat32);
  ASSERT_EQ(d.t.sizes(), torch::IntArrayRef({5000}));
  ASSERT_EQ(d.weights.sizes(), torch::IntArrayRef({5000}));
  EXPECT_TRUE(torch::equal(d.weights, torch::ones({5000})));
  EXPECT_GE(d.t.min().item<int64_t>(), 0);
  EXPECT_LT(d.t.max().item<int64_t>(), T);
  EXPECT_EQ(std::get<0>(torch::_unique(d.t)).numel(), T);  // every step reachable
}

TEST(ResampleUniform, SameSeedSameDraws) {
  UniformSampler s(1000);
  auto g1 = at::detail::createCPUGenerator(42);
  auto g2 = at::detail::createCPUGenerator(42);
  auto g3 = at::detail::createCPUGenerator(43);
  auto a = s.sample(256, g1, torch::kCPU).t;
  auto b = s.sample(256, g2, torch::kCPU).t;
  auto c = s.sample(256, g3, torch::kCPU).t;
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_FALSE(torch::equal(a, c));
  EXPECT_FALSE(torch::equal(a, s.sample(256, g1, torch::kCPU).t));  // the generator advances
}

TEST(ResampleLossSecondMoment, UniformUntilEveryTimestepIsFull) {
  LossSecondMomentResampler s(4, 3, 0.001);
  EXPECT_EQ(s.weights(), std::vector<double>(4, 1.0));
  s.update_with_losses({0, 0, 0, 1, 1, 1, 2, 2, 2}, {5, 5, 5, 0.1, 0.2, 0.3, 9, 9, 9});
  s.update_with_losses({3, 3}, {7, 7});
  EXPECT_FALSE(s.warmed_up());
  EXPECT_EQ(s.weights(), std::vector<double>(4, 1.0));
  auto gen = at::detail::createCPUGenerator(1);
  EXPECT_TRUE(torch::equal(s.sample(100, gen, torch::kCPU).weights, torch::ones({100})));
  s.update_with_losses({3}, {7});
  EXPECT_TRUE(s.warmed_up());
  EXPECT_NE(s.weights(), std::vector<double>(4, 1.0));
}

TEST(ResampleLossSecondMoment, WeightsMatchHandComputation) {
  for (double u : {0.001, 0.25}) {
    LossSecondMomentResampler s(4, 3, u);
    feed_known_history(s);
    ASSERT_TRUE(s.warmed_up());
    const auto got = s.weights();
    const auto want = known_history_weights(u);
    ASSERT_EQ(got.size(), 4u);
    for (int t = 0; t < 4; ++t) EXPECT_NEAR(got[t], want[t], 1e-12) << "u=" << u << " t=" << t;
  }
}

TEST(ResampleLossSecondMoment, FifoDropsOldest) {
  LossSecondMomentResampler s(4, 3, 0.001);
  s.update_with_losses({0}, {100});  // pushed out by the three that follow
  feed_known_history(s);
  const auto got = s.weights();
  const auto want = known_history_weights(0.001);
  for (int t = 0; t < 4; ++t) EXPECT_NEAR(got[t], want[t], 1e-12) << "t=" << t;
  // Once more at the end of t3's queue: 2, 3, 10 is what remains, not 1, 2, 3.
  s.update_with_losses({3}, {10});
  std::vector<double> w = {1.0, 2.0, std::sqrt(3.0), std::sqrt((4.0 + 9.0 + 100.0) / 3.0)};
  const double total = w[0] + w[1] + w[2] + w[3];
  const auto got2 = s.weights();
  for (int t = 0; t < 4; ++t) EXPECT_NEAR(got2[t], w[t] / total * 0.999 + 0.001 / 4, 1e-12) << "t=" << t;
}

TEST(ResampleLossSecondMoment, ImportanceWeightsAreInverseTp) {
  LossSecondMomentResampler s(4, 3, 0.001);
  feed_known_history(s);
  const auto p = normalised(s.weights());
  auto gen = at::detail::createCPUGenerator(7);
  auto d = s.sample(1000, gen, torch::kCPU);
  const auto t = to_vector(d.t);
  auto w = d.weights.contiguous();
  for (size_t i = 0; i < t.size(); ++i) {
    ASSERT_GE(t[i], 0);
    ASSERT_LT(t[i], 4);
    EXPECT_EQ(w.data_ptr<float>()[i], static_cast<float>(1.0 / (4 * p[t[i]]))) << "i=" << i;
  }
}

TEST(ResampleLossSecondMoment, DrawFrequenciesApproachP) {
  LossSecondMomentResampler s(4, 3, 0.001);
  feed_known_history(s);
  const auto p = normalised(s.weights());
  const int64_t n = 200000;
  auto gen = at::detail::createCPUGenerator(11);
  auto counts = torch::bincount(s.sample(n, gen, torch::kCPU).t, {}, 4).to(torch::kFloat64) / n;
  for (int t = 0; t < 4; ++t) EXPECT_LT(std::abs(counts[t].item<double>() - p[t]), 0.01) << "t=" << t;
}

TEST(ResampleLossSecondMoment, StateRoundTripIsExact) {
  LossSecondMomentResampler a(5, 3, 0.001);
  auto gen = at::detail::createCPUGenerator(3);
  auto losses = torch::rand({13}, gen, torch::kFloat64);  // doubles with no short decimal form
  std::vector<double> l(losses.data_ptr<double>(), losses.data_ptr<double>() + 13);
  std::vector<int64_t> ts = {0, 1, 2, 3, 4, 0, 1, 2, 3, 0, 1, 2, 0};  // t4 not yet full
  a.update_with_losses(ts, l);
  LossSecondMomentResampler b(5, 3, 0.001);
  b.load_state(a.state());
  EXPECT_EQ(b.state(), a.state());
  // Completing t4 on both must give bit-identical weights, including the partial FIFO contents.
  a.update_with_losses({4, 4, 3}, {0.3, 1.0 / 3.0, 0.7});
  b.update_with_losses({4, 4, 3}, {0.3, 1.0 / 3.0, 0.7});
  ASSERT_TRUE(a.warmed_up());
  EXPECT_EQ(b.weights(), a.weights());
  EXPECT_NE(a.weights(), std::vector<double>(5, 1.0));

  LossSecondMomentResampler other_t(6, 3, 0.001);
  EXPECT_THROW(other_t.load_state(a.state()), repro::DataError);
  EXPECT_THROW(b.load_state("loss-second-moment 5 3 0.001\n1 0.5\n"), repro::DataError);  // truncated
  EXPECT_THROW(b.load_state("uniform"), repro::DataError);
  UniformSampler u(5);
  u.load_state(u.state());
  EXPECT_THROW(u.load_state(a.state()), repro::DataError);
}

TEST(ResampleLossSecondMoment, RejectsBadUpdates) {
  LossSecondMomentResampler s(4, 3, 0.001);
  EXPECT_THROW(s.update_with_losses({0, 1}, {1.0}), repro::DataError);
  EXPECT_THROW(s.update_with_losses({4}, {1.0}), repro::DataError);
  EXPECT_THROW(s.update_with_losses({-1}, {1.0}), repro::DataError);
  EXPECT_THROW(s.update_with_losses({0}, {std::nan("")}), repro::DataError);
  EXPECT_THROW(LossSecondMomentResampler(4, 0, 0.001), repro::ConfigError);
}

TEST(ResampleFactory, NamesAndUnknownName) {
  auto u = create_named_schedule_sampler("uniform", 10);
  EXPECT_EQ(u->name(), "uniform");
  EXPECT_NE(dynamic_cast<UniformSampler*>(u.get()), nullptr);
  auto l = create_named_schedule_sampler("loss-second-moment", 10);
  EXPECT_EQ(l->name(), "loss-second-moment");
  auto* lsm = dynamic_cast<LossSecondMomentResampler*>(l.get());
  ASSERT_NE(lsm, nullptr);
  EXPECT_EQ(lsm->history_per_term(), 10);
  EXPECT_EQ(lsm->uniform_prob(), 0.001);
  EXPECT_EQ(lsm->weights().size(), 10u);
  try {
    create_named_schedule_sampler("importance", 10);
    FAIL() << "expected ConfigError";
  } catch (const repro::ConfigError& e) {
    EXPECT_EQ(e.key_path(), "train.schedule_sampler");
    EXPECT_NE(std::string(e.what()).find("'importance'"), std::string::npos);
  }
}

TEST(ResampleGpu, DrawsLandOnDevice) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  LossSecondMomentResampler s(4, 3, 0.001);
  feed_known_history(s);
  auto g1 = at::detail::createCPUGenerator(5);
  auto g2 = at::detail::createCPUGenerator(5);
  auto d = s.sample(64, g1, torch::Device(torch::kCUDA, 0));
  auto c = s.sample(64, g2, torch::kCPU);
  EXPECT_TRUE(d.t.is_cuda());
  EXPECT_TRUE(d.weights.is_cuda());
  EXPECT_TRUE(torch::equal(d.t.cpu(), c.t));
  EXPECT_TRUE(torch::equal(d.weights.cpu(), c.weights));
}
