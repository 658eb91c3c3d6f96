// Precision / recall: hand-computed point sets, block-size invariance, float16 vs float32 blocks,
// and the evaluator's ManifoldEstimator transcribed to numpy (float32 distance blocks).
#include "metrics/precision_recall.h"

#include <gtest/gtest.h>

#include <cmath>
#include <iostream>

#include "base/util/errors.h"
#include "tests/metrics/metrics_test_util.h"
#include "tests/support/test_support.h"

namespace repro::metrics {
namespace {

const DistancePrecision kBoth[] = {DistancePrecision::kFloat16WithFloat32Fallback, DistancePrecision::kFloat32};

RowMatrixXf column(std::initializer_list<float> v) {
  RowMatrixXf x(v.size(), 1);
  int i = 0;
  for (float f : v) x(i++, 0) = f;
  return x;
}

// 1-D, k = 3, squared distances; radius = 4th smallest of the row including self (0).
//   ref R = {0, 1, 2, 3, 4, 20}:  0: {0,1,4,9,16,400} -> 9;  1: {0,1,1,4,9,361} -> 4;  2: -> 4;
//                                 3: -> 4;  4: {0,1,4,9,16,256} -> 9;  20: {0,256,289,324,..} -> 324
//   samples S = {1.5, 2.5, 3.5, 5.5, -30}: 1.5: {0,1,4,16,992.25} -> 16;  2.5: {0,1,1,9,..} -> 9;
//     3.5: {0,1,4,4,..} -> 4;  5.5: {0,4,9,16,..} -> 16;  -30: {0,992.25,1056.25,1122.25,..} -> 1122.25
//   precision: 1.5 (to 1: 0.25 <= 4), 2.5, 3.5 (to 3: 0.25 <= 4), 5.5 (to 4: 2.25 <= 9) are in;
//     -30 is not (to 0: 900 > 9, to 20: 2500 > 324)  -> 4/5
//   recall: 0 (to 1.5: 2.25 <= 16), 1, 2, 3, 4 are in; 20 is not (to 5.5: 210.25 > 16, to 3.5:
//     272.25 > 4, to 2.5: 306.25 > 9, to 1.5: 342.25 > 16, to -30: 2500 > 1122.25)  -> 5/6
// Float16 rounds -30's radius 1122.25 to 1122 (spacing 1 above 1024); every decision is the same.
TEST(PrecisionRecall, HandComputedOneDimensionalSets) {
  const RowMatrixXf ref = column({0, 1, 2, 3, 4, 20});
  const RowMatrixXf sample = column({1.5f, 2.5f, 3.5f, 5.5f, -30});
  for (DistancePrecision p : kBoth) {
    ManifoldEstimator est({10000, 10000, {3}, p});
    const RowMatrixXf r = est.manifold_radii(ref);
    const RowMatrixXf s = est.manifold_radii(sample);
    EXPECT_EQ(std::vector<float>(r.data(), r.data() + 6), (std::vector<float>{9, 4, 4, 4, 9, 324}));
    const float far = p == DistancePrecision::kFloat32 ? 1122.25f : 1122.0f;
    EXPECT_EQ(std::vector<float>(s.data(), s.data() + 5), (std::vector<float>{16, 9, 4, 16, far}));
    const PrecisionRecall pr = compute_prec_recall(ref, sample, {10000, 10000, {3}, p});
    EXPECT_DOUBLE_EQ(pr.precision, 4.0 / 5);
    EXPECT_DOUBLE_EQ(pr.recall, 5.0 / 6);
  }
}

// 2-D, the reference is the 3x3 grid {0,1,2}^2, k = 3:
//   corners: neighbours at 1, 1, 2 -> radius 2; edge midpoints (1,0): 1, 1, 1 -> 1; centre: 1.
//   samples A (0.5,0.5), B (2.5,2.5), C (1,3), D (4,4): pairwise AB 8, AC 6.5, AD 24.5, BC 2.5,
//   BD 4.5, CD 10; with 4 points the radius is the largest of the other three:
//   A 24.5, B 8, C 10, D 24.5.
//   precision: A (to (0,0): 0.5 <= 2), B (to (2,2): 0.5 <= 2), C (to edge (1,2): 1 <= 1, on the
//     boundary: membership is <=) are in; D is not (to (2,2): 8 > 2)  -> 3/4
//   recall: every grid point is within A's 24.5 (farthest (2,2): 4.5)  -> 1
TEST(PrecisionRecall, HandComputedTwoDimensionalGridWithABoundaryPoint) {
  RowMatrixXf grid(9, 2);
  for (int i = 0; i < 9; ++i) grid.row(i) << static_cast<float>(i / 3), static_cast<float>(i % 3);
  RowMatrixXf sample(4, 2);
  sample << 0.5f, 0.5f, 2.5f, 2.5f, 1, 3, 4, 4;
  for (DistancePrecision p : kBoth) {
    ManifoldEstimator est({10000, 10000, {3}, p});
    const RowMatrixXf r = est.manifold_radii(grid);
    EXPECT_EQ(std::vector<float>(r.data(), r.data() + 9), (std::vector<float>{2, 1, 2, 1, 1, 1, 2, 1, 2}));
    const RowMatrixXf s = est.manifold_radii(sample);
    EXPECT_EQ(std::vector<float>(s.data(), s.data() + 4), (std::vector<float>{24.5f, 8, 10, 24.5f}));
    const PrecisionRecall pr = compute_prec_recall(grid, sample, {10000, 10000, {3}, p});
    EXPECT_DOUBLE_EQ(pr.precision, 0.75);
    EXPECT_DOUBLE_EQ(pr.recall, 1.0);
  }
  // With < instead of <= C would be out: check the boundary case is what decides 3/4.
  RowMatrixXf c_moved = sample;
  c_moved(2, 1) = 3.01f;
  EXPECT_DOUBLE_EQ(compute_prec_recall(grid, c_moved, {10000, 10000, {3}, DistancePrecision::kFloat32}).precision, 0.5);
}

TEST(PrecisionRecall, BlockSizesDoNotChangeTheResult) {
  const RowMatrixXf ref = test_util::random_features(57, 16, 1);
  const RowMatrixXf sample = test_util::random_features(43, 16, 2, 1.2f, 0.1f);
  ManifoldEstimator whole({10000, 10000, {3, 5}, DistancePrecision::kFloat32});
  ManifoldEstimator blocked({7, 5, {3, 5}, DistancePrecision::kFloat32});
  const RowMatrixXf r1 = whole.manifold_radii(ref), r2 = blocked.manifold_radii(ref);
  // Float32 GEMM sums in an order that depends on the block shape: radii agree to rounding.
  EXPECT_LT(((r1 - r2).cwiseAbs().array() / r1.array()).maxCoeff(), 1e-5f);
  const RowMatrixXf s1 = whole.manifold_radii(sample), s2 = blocked.manifold_radii(sample);
  const auto a = whole.evaluate_pr(ref, r1, sample, s1);
  const auto b = blocked.evaluate_pr(ref, r2, sample, s2);
  EXPECT_EQ(a.first, b.first);
  EXPECT_EQ(a.second, b.second);
  EXPECT_EQ(blocked.blocks(), 9 * 12 + 7 * 9 + 9 * 9);  // radii ref, radii sample, evaluate_pr
}

TEST(PrecisionRecall, Float16AndFloat32BlocksAgreeOnWellScaledData) {
  // pool_3-like: non-negative, ~0.3 on average, 256-d; squared distances ~ 60, well inside float16.
  RowMatrixXf ref = test_util::random_features(600, 256, 3, 0.3f, 0.3f).cwiseAbs();
  RowMatrixXf sample = test_util::random_features(500, 256, 4, 0.32f, 0.3f).cwiseAbs();
  ManifoldEstimator half({10000, 10000, {3}, DistancePrecision::kFloat16WithFloat32Fallback});
  ManifoldEstimator single({10000, 10000, {3}, DistancePrecision::kFloat32});
  const RowMatrixXf rh = half.manifold_radii(ref), rs = single.manifold_radii(ref);
  const double radius_rel = ((rh - rs).cwiseAbs().array() / rs.array()).maxCoeff();
  // float16 keeps 11 significant bits (4.9e-4 per rounding), and |u|^2 + |v|^2 - 2 u.v cancels about
  // 4x here: a few 1e-3.
  EXPECT_LT(radius_rel, 1e-2);
  EXPECT_EQ(half.float32_fallbacks(), 0);
  const PrecisionRecall ph =
      compute_prec_recall(ref, sample, {10000, 10000, {3}, DistancePrecision::kFloat16WithFloat32Fallback});
  const PrecisionRecall ps = compute_prec_recall(ref, sample, {10000, 10000, {3}, DistancePrecision::kFloat32});
  std::cout << "[ pr ] float16 P " << ph.precision << " R " << ph.recall << "; float32 P " << ps.precision << " R "
            << ps.recall << "; max radius relative difference " << radius_rel << "\n";
  EXPECT_NEAR(ph.precision, ps.precision, 0.01);
  EXPECT_NEAR(ph.recall, ps.recall, 0.01);
  EXPECT_GT(ps.precision, 0.05);  // not a degenerate 0 or 1
  EXPECT_LT(ps.precision, 0.999);
}

TEST(PrecisionRecall, Float16OverflowFallsBackToFloat32) {
  // |u|^2 ~ 64 * 1000^2 overflows float16 (max 65504): the block is recomputed in float32.
  const RowMatrixXf x = test_util::random_features(20, 64, 5, 1000.0f);
  bool used_float32 = false;
  const RowMatrixXf d = pairwise_distances(x, x, DistancePrecision::kFloat16WithFloat32Fallback, &used_float32);
  EXPECT_TRUE(used_float32);
  EXPECT_EQ((d - pairwise_distances(x, x, DistancePrecision::kFloat32)).cwiseAbs().maxCoeff(), 0.0f);
}

TEST(PrecisionRecall, RejectsTooFewPointsAndBadInput) {
  ManifoldEstimator est;
  EXPECT_EQ(test::error_message([&] {
              est.manifold_radii(column({0, 1, 2}));
            }),
            "precision/recall: the k = 3 nearest-neighbour radius needs at least 4 feature vectors, got 3");
  RowMatrixXf nan = column({0, 1, 2, 3, 4});
  nan(2, 0) = std::nanf("");
  EXPECT_THROW(est.manifold_radii(nan), DataError);
  EXPECT_THROW(pairwise_distances(RowMatrixXf::Zero(2, 3), RowMatrixXf::Zero(2, 4), DistancePrecision::kFloat32),
               DataError);
  EXPECT_THROW(ManifoldEstimator({0, 10, {3}}), DataError);
}

// The evaluator's ManifoldEstimator with DistanceBlock's float32 branch in numpy (the float16
// branch needs TF's GPU kernels).
const char* kEvaluatorPr = R"PY(
import numpy as np
def dist(U, V):
    nu = np.sum(np.square(U), 1).reshape(-1, 1)
    nv = np.sum(np.square(V), 1).reshape(1, -1)
    return np.maximum(nu - 2 * np.matmul(U, V.T) + nv, 0.0).astype(np.float32)
def manifold_radii(f, k=3):
    return np.partition(dist(f, f), list(range(k + 1)), axis=1)[:, [k]]
ref, sample = np.load("ref.npy"), np.load("sample.npy")
r1, r2 = manifold_radii(ref), manifold_radii(sample)
d = dist(ref, sample)[..., None]
ref_in = np.any(d <= r2, axis=1)
sample_in = np.any(d <= r1[:, None], axis=0)
np.save("radii_ref.npy", r1)
np.save("pr.npy", np.array([np.mean(sample_in.astype(np.float64)), np.mean(ref_in.astype(np.float64))]))
)PY";

TEST(PrecisionRecall, MatchesTheEvaluatorsNumpyCode) {
  const RowMatrixXf ref = test_util::random_features(700, 64, 8, 0.5f, 0.2f).cwiseAbs();
  const RowMatrixXf sample = test_util::random_features(650, 64, 9, 0.6f, 0.2f).cwiseAbs();
  test::TempDir dir;
  test_util::save(dir.file("ref.npy"), ref);
  test_util::save(dir.file("sample.npy"), sample);
  ASSERT_EQ(test::run_python(kEvaluatorPr, dir.path()), 0);
  const std::vector<double> want_radii = test_util::load(dir.file("radii_ref.npy"));
  const std::vector<double> want = test_util::load(dir.file("pr.npy"));
  ManifoldEstimator est({300, 200, {3}, DistancePrecision::kFloat32});
  const RowMatrixXf radii = est.manifold_radii(ref);
  double worst = 0;
  for (int64_t i = 0; i < radii.rows(); ++i)
    worst = std::max(worst, std::abs(radii(i, 0) - want_radii[i]) / want_radii[i]);
  const PrecisionRecall pr = compute_prec_recall(ref, sample, {300, 200, {3}, DistancePrecision::kFloat32});
  const PrecisionRecall ph = compute_prec_recall(ref, sample);
  std::cout << "[ pr ] numpy P " << want[0] << " R " << want[1] << "; ours float32 P " << pr.precision << " R "
            << pr.recall << ", float16 P " << ph.precision << " R " << ph.recall << "; radii max relative difference "
            << worst << "\n";
  EXPECT_LT(worst, 1e-5);
  // Float32 summation order may move a point across a radius: allow one point either way.
  EXPECT_NEAR(pr.precision, want[0], 1.0 / 650 + 1e-12);
  EXPECT_NEAR(pr.recall, want[1], 1.0 / 700 + 1e-12);
  EXPECT_NEAR(ph.precision, want[0], 0.01);
  EXPECT_NEAR(ph.recall, want[1], 0.01);
}

}  // namespace
}  // namespace repro::metrics
