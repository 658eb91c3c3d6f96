#include "metrics/feature_stats.h"

#include <string>

#include "base/util/errors.h"
#include "metrics/blas.h"

namespace repro::metrics {

FeatureStats::FeatureStats(int64_t dim) {
  if (dim < 1) throw DataError("FeatureStats: feature dimension must be >= 1, got " + std::to_string(dim));
  mean_ = Eigen::VectorXd::Zero(dim);
  m2_ = Eigen::MatrixXd::Zero(dim, dim);
}

void FeatureStats::add(const FeaturesRef& batch) {
  if (batch.cols() != dim()) {
    throw DataError("FeatureStats: batch has " + std::to_string(batch.cols()) + " features per row, expected " +
                    std::to_string(dim()));
  }
  if (batch.rows() == 0) return;
  if (!batch.allFinite()) throw DataError("FeatureStats: batch contains NaN or infinite features");
  // Row-major like the batch: the cast is a straight copy, and dsyrk takes it without transposing.
  blas::RowMatrixXd centered = batch.cast<double>();
  const Eigen::VectorXd batch_mean = centered.colwise().mean().transpose();
  centered.rowwise() -= batch_mean.transpose();
  const double na = static_cast<double>(count_);
  const double nb = static_cast<double>(batch.rows());
  const double n = na + nb;
  const Eigen::VectorXd delta = batch_mean - mean_;
  // Chan et al.: M2 = M2_a + M2_b + delta delta^T * na nb / n, with M2_b = centered^T centered
  // (BLAS dsyrk into the lower triangle).
  blas::rank_update_lower(m2_, centered, 1.0);
  m2_.selfadjointView<Eigen::Lower>().rankUpdate(delta, na * nb / n);
  mean_ += delta * (nb / n);
  count_ += batch.rows();
}

void FeatureStats::merge(const FeatureStats& other) {
  if (other.dim() != dim()) {
    throw DataError("FeatureStats: cannot merge statistics of dimension " + std::to_string(other.dim()) + " into " +
                    std::to_string(dim()));
  }
  if (other.count_ == 0) return;
  const double na = static_cast<double>(count_);
  const double nb = static_cast<double>(other.count_);
  const double n = na + nb;
  const Eigen::VectorXd delta = other.mean_ - mean_;
  m2_.triangularView<Eigen::Lower>() += other.m2_;
  m2_.selfadjointView<Eigen::Lower>().rankUpdate(delta, na * nb / n);
  mean_ += delta * (nb / n);
  count_ += other.count_;
}

Eigen::VectorXd FeatureStats::mean() const {
  if (count_ == 0) throw DataError("FeatureStats: mean of zero feature vectors");
  return mean_;
}

Eigen::MatrixXd FeatureStats::covariance() const {
  if (count_ < 2) {
    throw DataError("FeatureStats: covariance needs at least 2 feature vectors, got " + std::to_string(count_));
  }
  Eigen::MatrixXd sigma = m2_.selfadjointView<Eigen::Lower>();
  return sigma / static_cast<double>(count_ - 1);
}

FidStatistics compute_statistics(const FeaturesRef& activations) {
  FeatureStats stats(activations.cols());
  stats.add(activations);
  return stats.statistics();
}

}  // namespace repro::metrics
