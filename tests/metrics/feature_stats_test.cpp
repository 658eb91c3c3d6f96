// Streaming statistics: batches and merges equal one pass and a textbook two-pass computation.
#include "metrics/feature_stats.h"

#include <gtest/gtest.h>

#include <cmath>

#include "base/util/errors.h"
#include "tests/metrics/metrics_test_util.h"

namespace repro::metrics {
namespace {

// Two-pass mean / covariance in long double: the ground truth.
void two_pass(const RowMatrixXf& x, Eigen::VectorXd* mu, Eigen::MatrixXd* sigma) {
  const int64_t n = x.rows(), d = x.cols();
  std::vector<long double> m(d, 0.0L);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; ++j) m[j] += x(i, j);
  for (auto& v : m) v /= n;
  mu->resize(d);
  sigma->resize(d, d);
  for (int64_t a = 0; a < d; ++a) {
    (*mu)(a) = static_cast<double>(m[a]);
    for (int64_t b = 0; b < d; ++b) {
      long double s = 0.0L;
      for (int64_t i = 0; i < n; ++i) s += (x(i, a) - m[a]) * (x(i, b) - m[b]);
      (*sigma)(a, b) = static_cast<double>(s / (n - 1));
    }
  }
}

TEST(FeatureStats, BatchesAndMergesEqualOnePass) {
  // Mean 1000, std 1: raw sums of squares would lose ~6 of the 16 digits; deviations keep them.
  const RowMatrixXf x = test_util::random_features(301, 7, 1, 1.0f, 1000.0f);
  Eigen::VectorXd mu;
  Eigen::MatrixXd sigma;
  two_pass(x, &mu, &sigma);

  const FidStatistics one = compute_statistics(x);
  FeatureStats a(7), b(7), c(7);
  a.add(x.topRows(1));  // uneven batches, one of a single row
  a.add(x.middleRows(1, 63));
  b.add(x.middleRows(64, 0));
  b.add(x.middleRows(64, 100));
  c.add(x.bottomRows(137));
  b.merge(c);
  a.merge(b);
  a.merge(FeatureStats(7));  // merging an empty accumulator changes nothing
  EXPECT_EQ(a.count(), 301);
  for (const FidStatistics& s : {one, a.statistics()}) {
    EXPECT_LT((s.mu - mu).cwiseAbs().maxCoeff(), 1e-9);
    EXPECT_LT((s.sigma - sigma).cwiseAbs().maxCoeff(), 1e-11);
    EXPECT_EQ((s.sigma - s.sigma.transpose()).cwiseAbs().maxCoeff(), 0.0);
  }
}

TEST(FeatureStats, RejectsBadInput) {
  FeatureStats s(3);
  EXPECT_THROW(s.add(RowMatrixXf::Zero(2, 4)), DataError);
  RowMatrixXf nan = RowMatrixXf::Zero(2, 3);
  nan(1, 2) = std::nanf("");
  EXPECT_THROW(s.add(nan), DataError);
  s.add(RowMatrixXf::Zero(1, 3));
  EXPECT_THROW(s.covariance(), DataError);  // one vector: divisor N - 1 = 0
  EXPECT_THROW(s.merge(FeatureStats(2)), DataError);
  EXPECT_THROW(FeatureStats(3).mean(), DataError);
}

}  // namespace
}  // namespace repro::metrics
