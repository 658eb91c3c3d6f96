#pragma once
// FID statistics (the evaluator's FIDStatistics / compute_statistics): mean and covariance with
// divisor N - 1 (np.cov(rowvar=False)), accumulated in float64 in one streaming pass so that 50k x
// 2048 activations never have to be held at once. (The evaluator's np.mean of float32 activations
// is a float32 mean, ~1e-7 relative from this float64 one; np.cov computes in float64.)
#include <cstdint>

#include <Eigen/Core>

#include "metrics/features.h"

namespace repro::metrics {

// mu [D] and sigma [D, D], float64 as the evaluator's numpy arrays.
struct FidStatistics {
  Eigen::VectorXd mu;
  Eigen::MatrixXd sigma;
};

// Streaming mean/covariance. Each batch is reduced to (count, mean, M2 = sum of outer products of
// deviations from the batch mean) and folded in with Chan et al.'s pairwise update; raw sums of
// squares would lose ~all digits when |mean| >> std. merge(a, b) equals one pass over a's and b's
// rows (up to rounding), so shards from several processes can be combined in any order.
// Not thread-safe; one object per thread, then merge.
class FeatureStats {
 public:
  // Throws DataError when dim < 1.
  explicit FeatureStats(int64_t dim);

  // batch: [n, dim], n >= 0. Throws DataError on a dimension mismatch or a non-finite value
  // (a NaN would silently poison every later FID).
  void add(const FeaturesRef& batch);
  // Folds in another accumulator of the same dim (DataError otherwise).
  void merge(const FeatureStats& other);

  int64_t count() const { return count_; }
  int64_t dim() const { return mean_.size(); }
  // [dim]. Throws DataError when count() == 0.
  Eigen::VectorXd mean() const;
  // [dim, dim], divisor count() - 1. Throws DataError when count() < 2.
  Eigen::MatrixXd covariance() const;
  FidStatistics statistics() const { return {mean(), covariance()}; }

 private:
  int64_t count_ = 0;
  Eigen::VectorXd mean_;
  Eigen::MatrixXd m2_;  // only the lower triangle is maintained (rankUpdate)
};

// The evaluator's compute_statistics(activations) for features already in memory: [N, D], N >= 2.
FidStatistics compute_statistics(const FeaturesRef& activations);

}  // namespace repro::metrics
