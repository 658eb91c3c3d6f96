// KID: clean-fid's kernel_distance in numpy on sets where every subset is a permutation of the
// whole set, so the random subsets do not matter.
#include "metrics/kid.h"

#include <gtest/gtest.h>

#include <cmath>
#include <iostream>

#include "base/util/errors.h"
#include "tests/metrics/metrics_test_util.h"
#include "tests/support/test_support.h"

namespace repro::metrics {
namespace {

TEST(Kid, MatchesCleanFidKernelDistance) {
  const RowMatrixXf ref = test_util::random_features(300, 32, 1);
  const RowMatrixXf sample = test_util::random_features(300, 32, 2, 1.1f, 0.2f);
  test::TempDir dir;
  test_util::save(dir.file("ref.npy"), ref);
  test_util::save(dir.file("sample.npy"), sample);
  const char* code = R"PY(
import numpy as np
feats1, feats2 = np.load("ref.npy").astype(np.float64), np.load("sample.npy").astype(np.float64)
def kernel_distance(feats1, feats2, num_subsets=100, max_subset_size=1000):
    n = feats1.shape[1]
    m = min(min(feats1.shape[0], feats2.shape[0]), max_subset_size)
    t = 0
    for _subset_idx in range(num_subsets):
        x = feats2[np.random.choice(feats2.shape[0], m, replace=False)]
        y = feats1[np.random.choice(feats1.shape[0], m, replace=False)]
        a = (x @ x.T / n + 1) ** 3 + (y @ y.T / n + 1) ** 3
        b = (x @ y.T / n + 1) ** 3
        t += (a.sum() - np.diag(a).sum()) / (m - 1) - b.sum() * 2 / m
    kid = t / num_subsets / m
    return float(kid)
np.save("kid.npy", np.array([kernel_distance(feats1, feats2, num_subsets=3)]))
)PY";
  ASSERT_EQ(test::run_python(code, dir.path()), 0);
  const double want = test_util::load(dir.file("kid.npy"))[0];
  const double got = kernel_inception_distance(ref, sample, {5, 1000, 42});
  std::cout << "[ kid ] ours " << got << " clean-fid numpy " << want << "\n";
  EXPECT_GT(want, 0.01);
  EXPECT_NEAR(got, want, 1e-9 * std::abs(want));
  // Subsets smaller than the sets: a random estimate of the same quantity.
  EXPECT_NEAR(kernel_inception_distance(ref, sample, {50, 150, 1}), want, 0.3 * want);
}

TEST(Kid, RejectsBadInput) {
  EXPECT_THROW(kernel_inception_distance(RowMatrixXf::Zero(5, 3), RowMatrixXf::Zero(5, 4)), DataError);
  EXPECT_THROW(kernel_inception_distance(RowMatrixXf::Zero(1, 3), RowMatrixXf::Zero(5, 3)), DataError);
}

}  // namespace
}  // namespace repro::metrics
