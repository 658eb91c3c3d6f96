// Inception Score: closed forms and the evaluator's compute_inception_score transcribed to numpy.
#include "metrics/inception_score.h"

#include <gtest/gtest.h>

#include <cmath>
#include <iostream>

#include "base/util/errors.h"
#include "tests/metrics/metrics_test_util.h"
#include "tests/support/test_support.h"

namespace repro::metrics {
namespace {

TEST(InceptionScore, UniformPredictionsScoreOne) {
  // p(y|x) = p(y) for every x: every KL term is 0, exp(0) = 1.
  EXPECT_NEAR(compute_inception_score(RowMatrixXf::Zero(100, 1008)), 1.0, 1e-12);
}

TEST(InceptionScore, BalancedOneHotClassesScoreK) {
  // k classes equally often, each prediction (nearly) one-hot: KL = log k for every row, IS = k.
  for (int k : {1, 2, 10, 1008}) {
    RowMatrixXf logits = RowMatrixXf::Zero(3 * k, 1008);
    for (int i = 0; i < 3 * k; ++i) logits(i, i % k) = 100.0f;  // off-class p = e^-100 / ...
    EXPECT_NEAR(compute_inception_score(logits), k, 1e-9 * k) << "k = " << k;
  }
}

TEST(InceptionScore, SplitsInInputOrderWithAPartialLastSplit) {
  // 7 rows with split_size 3: splits {0,1,2}, {3,4,5}, {6}. Rows 0-5 alternate two one-hot classes
  // except that split 2 holds one class only; the lone last row scores exp(0) = 1.
  // Splits: {a,b,a} -> KL mean = (2 log(3/2) + log 3) / 3, {a,a,a} -> 1, {b} -> 1.
  RowMatrixXf logits = RowMatrixXf::Zero(7, 4);
  const int cls[7] = {0, 1, 0, 2, 2, 2, 1};
  for (int i = 0; i < 7; ++i) logits(i, cls[i]) = 200.0f;
  const double first = std::exp((2 * std::log(1.5) + std::log(3.0)) / 3);
  EXPECT_NEAR(compute_inception_score(logits, 3), (first + 1.0 + 1.0) / 3, 1e-12);
  // One split of everything gives a different number: the split really is in input order.
  EXPECT_GT(std::abs(compute_inception_score(logits, 7) - compute_inception_score(logits, 3)), 0.1);
}

TEST(InceptionScore, RejectsBadInput) {
  EXPECT_THROW(compute_inception_score(RowMatrixXf::Zero(0, 10)), DataError);
  EXPECT_THROW(compute_inception_score(RowMatrixXf::Zero(5, 10), 0), DataError);
  RowMatrixXf inf = RowMatrixXf::Zero(5, 10);
  inf(2, 3) = INFINITY;
  EXPECT_THROW(compute_inception_score(inf), DataError);
}

TEST(InceptionScore, MatchesTheEvaluatorsNumpyCode) {
  // 11000 rows: splits of 5000, 5000 and a partial 1000. Logits with the spread of Inception's.
  RowMatrixXf logits = test_util::random_features(11000, 1008, 7, 3.0f);
  for (int64_t i = 0; i < logits.rows(); ++i) logits(i, i % 37) += 8.0f;
  test::TempDir dir;
  test_util::save(dir.file("logits.npy"), logits);
  // softmax in float32 as TF's tf.nn.softmax, then compute_inception_score's loop verbatim.
  const char* code = R"PY(
import numpy as np
logits = np.load("logits.npy")
e = np.exp(logits - logits.max(axis=1, keepdims=True))
preds = (e / e.sum(axis=1, keepdims=True)).astype(np.float32)
scores = []
split_size = 5000
for i in range(0, len(preds), split_size):
    part = preds[i : i + split_size]
    kl = part * (np.log(part) - np.log(np.expand_dims(np.mean(part, 0), 0)))
    kl = np.mean(np.sum(kl, 1))
    scores.append(np.exp(kl))
np.save("is.npy", np.array([float(np.mean(scores))]))
)PY";
  ASSERT_EQ(test::run_python(code, dir.path()), 0);
  const double want = test_util::load(dir.file("is.npy"))[0];
  const double got = compute_inception_score(logits);
  const double rel = std::abs(got - want) / want;
  std::cout << "[ is ] ours " << got << " numpy float32 " << want << " relative difference " << rel << "\n";
  EXPECT_LT(rel, 1e-5);
}

}  // namespace
}  // namespace repro::metrics
