// metrics::evaluate, the evaluator's main(), over a fake feature network whose features are known
// functions of the pixels: which reference data each metric uses (stored statistics and pool_3 vs
// arr_0), the values against the metric functions called directly, the printed lines, and errors.
#include "metrics/evaluation.h"

#include <gtest/gtest.h>

#include <cmath>

#include "base/util/errors.h"
#include "metrics/feature_stats.h"
#include "metrics/fid.h"
#include "metrics/inception_score.h"
#include "metrics/precision_recall.h"

namespace repro::metrics {
namespace {

// Features of image i: pool_3 [4] = mean of each quarter of its bytes, spatial [3] = first three
// bytes, logits [5] = pool_3 and its sum / 100. Counts its calls and images.
class FakeNetwork : public FeatureNetwork {
 public:
  InceptionFeatures compute(const uint8_t* images, int64_t n, int64_t h, int64_t w, int64_t channels,
                            const FeatureTaps& taps, const FeatureProgress& progress) override {
    ++calls;
    images_seen += n;
    const int64_t bytes = h * w * channels;
    InceptionFeatures f;
    if (taps.pool_3) f.pool_3.resize(n, 4);
    if (taps.spatial) f.spatial.resize(n, 3);
    if (taps.logits) f.logits.resize(n, 5);
    for (int64_t i = 0; i < n; ++i) {
      const uint8_t* img = images + i * bytes;
      float q[4] = {0, 0, 0, 0};
      for (int64_t b = 0; b < bytes; ++b) q[b * 4 / bytes] += img[b];
      for (int k = 0; k < 4; ++k) q[k] /= static_cast<float>(bytes / 4);
      if (taps.pool_3)
        for (int k = 0; k < 4; ++k) f.pool_3(i, k) = q[k];
      if (taps.spatial)
        for (int k = 0; k < 3; ++k) f.spatial(i, k) = img[k];
      if (taps.logits) {
        for (int k = 0; k < 4; ++k) f.logits(i, k) = q[k] / 50;
        f.logits(i, 4) = (q[0] + q[1] + q[2] + q[3]) / 100;
      }
    }
    if (progress) progress(n, n);
    return f;
  }
  std::string description() const override { return "fake"; }
  int calls = 0;
  int64_t images_seen = 0;
};

NpyArray images(int64_t n, uint32_t seed) {
  NpyArray a;
  a.descr = "|u1";
  a.shape = {n, 4, 4, 3};
  a.data.resize(static_cast<size_t>(n * 48));
  uint32_t x = seed;
  for (auto& c : a.data) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<char>(x >> 24);
  }
  return a;
}

TEST(Evaluate, ValuesEqualTheMetricFunctionsOnTheNetworksFeatures) {
  FakeNetwork net;
  const NpyArray samples = images(20, 1), ref_images = images(30, 2);
  ReferenceBatch ref;
  ref.images = ref_images;
  const Evaluation e = evaluate(net, samples, ref);
  FeatureTaps all;
  FakeNetwork direct;
  const auto s = direct.compute(reinterpret_cast<const uint8_t*>(samples.data.data()), 20, 4, 4, 3, all, {});
  const auto r = direct.compute(reinterpret_cast<const uint8_t*>(ref_images.data.data()), 30, 4, 4, 3, all, {});
  EXPECT_DOUBLE_EQ(e.values.at("is"), compute_inception_score(s.logits));
  EXPECT_DOUBLE_EQ(e.values.at("fid"), frechet_distance(compute_statistics(s.pool_3), compute_statistics(r.pool_3)));
  EXPECT_DOUBLE_EQ(e.values.at("sfid"), frechet_distance(compute_statistics(s.spatial), compute_statistics(r.spatial)));
  const auto pr = compute_prec_recall(r.pool_3, s.pool_3);
  EXPECT_DOUBLE_EQ(e.values.at("precision"), pr.precision);
  EXPECT_DOUBLE_EQ(e.values.at("recall"), pr.recall);
  EXPECT_EQ(e.num_samples, 20);
  EXPECT_EQ(e.num_reference, 30);
  EXPECT_EQ(e.reference_statistics, "images");
  EXPECT_EQ(net.calls, 2);
}

TEST(Evaluate, StoredStatisticsAndPool3AreUsedInsteadOfTheImages) {
  FakeNetwork make;
  const NpyArray samples = images(20, 1), ref_images = images(30, 2);
  const auto r = make.compute(reinterpret_cast<const uint8_t*>(ref_images.data.data()), 30, 4, 4, 3, {}, {});
  ReferenceBatch stored;  // as `repro eval ref --no-images` writes it
  stored.stats = compute_statistics(r.pool_3);
  stored.spatial_stats = compute_statistics(r.spatial);
  stored.pool_3 = r.pool_3;
  ReferenceBatch from_images;
  from_images.images = ref_images;
  FakeNetwork a, b;
  const Evaluation with_stored = evaluate(a, samples, stored);
  const Evaluation with_images = evaluate(b, samples, from_images);
  EXPECT_EQ(a.images_seen, 20);  // only the samples went through the network
  EXPECT_EQ(b.images_seen, 50);
  EXPECT_EQ(with_stored.reference_statistics, "file");
  EXPECT_EQ(with_stored.reference_features, "file");
  for (const char* k : {"fid", "sfid", "precision", "recall", "is"})
    EXPECT_DOUBLE_EQ(with_stored.values.at(k), with_images.values.at(k)) << k;
}

TEST(Evaluate, IdenticalBatchesGiveFidZeroAndFullPrecisionAndRecall) {
  FakeNetwork net;
  const NpyArray batch = images(25, 7);
  ReferenceBatch ref;
  ref.images = batch;
  EvaluationOptions o;
  o.metrics = {"fid", "pr"};
  const Evaluation e = evaluate(net, batch, ref, o);
  EXPECT_NEAR(e.values.at("fid"), 0.0, 1e-6);
  EXPECT_DOUBLE_EQ(e.values.at("precision"), 1.0);
  EXPECT_DOUBLE_EQ(e.values.at("recall"), 1.0);
  EXPECT_EQ(e.values.count("is"), 0u);
  EXPECT_EQ(e.values.count("sfid"), 0u);
}

TEST(Evaluate, OnlyTheInceptionScoreNeedsNoReference) {
  FakeNetwork net;
  EvaluationOptions o;
  o.metrics = {"is"};
  const Evaluation e = evaluate(net, images(10, 3), ReferenceBatch{}, o);
  EXPECT_EQ(e.values.size(), 1u);
  EXPECT_EQ(e.reference_statistics, "");
}

TEST(Evaluate, PrintsWhatTheEvaluatorPrintsInItsOrder) {
  Evaluation e;
  e.values = {{"recall", 0.5}, {"fid", 2.75}, {"is", 9.0}, {"sfid", 4.05}, {"precision", 0.6875}};
  EXPECT_EQ(format_like_evaluator(e), "Inception Score: 9.0\nFID: 2.75\nsFID: 4.05\nPrecision: 0.6875\nRecall: 0.5\n");
  e.values = {{"fid", 1.0 / 3.0}};
  EXPECT_EQ(format_like_evaluator(e), "FID: 0.3333333333333333\n");  // Python's repr(1/3)
}

TEST(Evaluate, BadInputIsAClearError) {
  FakeNetwork net;
  ReferenceBatch ref;
  ref.images = images(10, 1);
  auto message = [&](const NpyArray& s, const ReferenceBatch& r, std::vector<std::string> m) {
    EvaluationOptions o;
    o.metrics = std::move(m);
    try {
      evaluate(net, s, r, o);
    } catch (const DataError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  NpyArray gray = images(10, 1);
  gray.shape = {10, 4, 12, 1};
  EXPECT_NE(message(gray, ref, {"fid"}).find("expected uint8 images [N, H, W, 3]"), std::string::npos);
  EXPECT_NE(message(images(10, 1), ref, {"fid", "kid"}).find("unknown metric 'kid'"), std::string::npos);
  ReferenceBatch stats_only;
  stats_only.stats = FidStatistics{Eigen::VectorXd::Zero(4), Eigen::MatrixXd::Identity(4, 4)};
  stats_only.spatial_stats = FidStatistics{Eigen::VectorXd::Zero(3), Eigen::MatrixXd::Identity(3, 3)};
  EXPECT_NE(message(images(10, 1), stats_only, {"pr"}).find("no arr_0 images, which precision/recall"),
            std::string::npos);
  ReferenceBatch wrong_dim;
  wrong_dim.stats = FidStatistics{Eigen::VectorXd::Zero(2048), Eigen::MatrixXd::Identity(2048, 2048)};
  wrong_dim.spatial_stats = stats_only.spatial_stats;
  EXPECT_NE(message(images(10, 1), wrong_dim, {"fid"}).find("dimension 2048, the samples' features 4"),
            std::string::npos);
  EXPECT_NE(message(images(3, 1), ref, {"pr"}).find("at least 4 feature vectors, got 3"), std::string::npos);
}

}  // namespace
}  // namespace repro::metrics
