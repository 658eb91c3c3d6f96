#include "metrics/precision_recall.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "base/util/errors.h"
#include "metrics/blas.h"

namespace repro::metrics {
namespace {

// float -> float16 -> float, round to nearest even (the tf.cast to float16); overflow gives inf.
inline float to_half(float x) { return static_cast<float>(Eigen::half(x)); }

RowMatrixXf distances_float32(const FeaturesRef& u, const FeaturesRef& v) {
  const Eigen::VectorXf norm_u = u.rowwise().squaredNorm();
  const Eigen::RowVectorXf norm_v = v.rowwise().squaredNorm().transpose();
  RowMatrixXf d;
  blas::sgemm_nt(u, v, &d);
  for (Eigen::Index i = 0; i < d.rows(); ++i) {
    for (Eigen::Index j = 0; j < d.cols(); ++j) d(i, j) = std::max((norm_u(i) - 2.0f * d(i, j)) + norm_v(j), 0.0f);
  }
  return d;
}

// Squared norms as TF computes reduce_sum(square(x)) for float16 input.
Eigen::VectorXf half_norms(const RowMatrixXf& xh) {
  Eigen::VectorXf norms(xh.rows());
  for (Eigen::Index i = 0; i < xh.rows(); ++i) {
    float sum = 0.0f;
    for (Eigen::Index j = 0; j < xh.cols(); ++j) sum += to_half(xh(i, j) * xh(i, j));
    norms(i) = to_half(sum);
  }
  return norms;
}

// The float16 block; false when some value is not finite (the caller then uses float32).
bool distances_float16(const FeaturesRef& u, const FeaturesRef& v, RowMatrixXf* out) {
  const RowMatrixXf uh = u.unaryExpr([](float x) { return to_half(x); });
  const RowMatrixXf vh = v.unaryExpr([](float x) { return to_half(x); });
  const Eigen::VectorXf norm_u = half_norms(uh);
  const Eigen::VectorXf norm_v = half_norms(vh);
  RowMatrixXf& d = *out;
  blas::sgemm_nt(uh, vh, &d);
  for (Eigen::Index i = 0; i < d.rows(); ++i) {
    for (Eigen::Index j = 0; j < d.cols(); ++j) {
      const float two_m = to_half(2.0f * to_half(d(i, j)));
      const float t = to_half(to_half(norm_u(i) - two_m) + norm_v(j));
      if (!std::isfinite(t)) return false;
      d(i, j) = std::max(t, 0.0f);
    }
  }
  return true;
}

void check_features(const FeaturesRef& f, const char* what) {
  if (!f.allFinite()) throw DataError(std::string("precision/recall: ") + what + " contain NaN or infinite values");
}

}  // namespace

RowMatrixXf pairwise_distances(const FeaturesRef& u, const FeaturesRef& v, DistancePrecision precision,
                               bool* used_float32) {
  if (u.cols() != v.cols()) {
    throw DataError("pairwise_distances: feature dimensions differ: " + std::to_string(u.cols()) + " and " +
                    std::to_string(v.cols()));
  }
  if (used_float32) *used_float32 = false;
  if (precision == DistancePrecision::kFloat16WithFloat32Fallback) {
    RowMatrixXf d;
    if (distances_float16(u, v, &d)) return d;
    if (used_float32) *used_float32 = true;
  }
  return distances_float32(u, v);
}

ManifoldEstimator::ManifoldEstimator(ManifoldEstimatorOptions options) : options_(std::move(options)) {
  if (options_.row_batch_size < 1 || options_.col_batch_size < 1) {
    throw DataError("ManifoldEstimator: row_batch_size and col_batch_size must be >= 1");
  }
  if (options_.nhood_sizes.empty()) throw DataError("ManifoldEstimator: nhood_sizes is empty");
  for (int k : options_.nhood_sizes) {
    if (k < 1) throw DataError("ManifoldEstimator: nhood_sizes must be >= 1, got " + std::to_string(k));
  }
}

RowMatrixXf ManifoldEstimator::distances(const FeaturesRef& u, const FeaturesRef& v) {
  bool used_float32 = false;
  RowMatrixXf d = pairwise_distances(u, v, options_.precision, &used_float32);
  ++blocks_;
  if (used_float32) ++float32_fallbacks_;
  return d;
}

RowMatrixXf ManifoldEstimator::manifold_radii(const FeaturesRef& features) {
  const int64_t num_images = features.rows();
  const int max_k = *std::max_element(options_.nhood_sizes.begin(), options_.nhood_sizes.end());
  if (num_images <= max_k) {
    throw DataError("precision/recall: the k = " + std::to_string(max_k) + " nearest-neighbour radius needs at least " +
                    std::to_string(max_k + 1) + " feature vectors, got " + std::to_string(num_images));
  }
  check_features(features, "features");
  const int keep = max_k + 1;  // sorted positions 0..k of a row, self included
  RowMatrixXf radii(num_images, static_cast<Eigen::Index>(options_.nhood_sizes.size()));
  for (int64_t begin1 = 0; begin1 < num_images; begin1 += options_.row_batch_size) {
    const int64_t rows = std::min(options_.row_batch_size, num_images - begin1);
    RowMatrixXf smallest = RowMatrixXf::Constant(rows, keep, std::numeric_limits<float>::infinity());
    for (int64_t begin2 = 0; begin2 < num_images; begin2 += options_.col_batch_size) {
      const int64_t cols = std::min(options_.col_batch_size, num_images - begin2);
      const RowMatrixXf d = distances(features.middleRows(begin1, rows), features.middleRows(begin2, cols));
      for (int64_t i = 0; i < rows; ++i) {
        float* best = smallest.row(i).data();  // ascending
        for (int64_t j = 0; j < cols; ++j) {
          float x = d(i, j);
          if (!(x < best[keep - 1])) continue;
          int pos = keep - 1;
          while (pos > 0 && best[pos - 1] > x) {
            best[pos] = best[pos - 1];
            --pos;
          }
          best[pos] = x;
        }
      }
    }
    for (size_t m = 0; m < options_.nhood_sizes.size(); ++m) {
      radii.block(begin1, m, rows, 1) = smallest.col(options_.nhood_sizes[m]);
    }
  }
  return radii;
}

std::pair<std::vector<double>, std::vector<double>> ManifoldEstimator::evaluate_pr(const FeaturesRef& features_1,
                                                                                   const RowMatrixXf& radii_1,
                                                                                   const FeaturesRef& features_2,
                                                                                   const RowMatrixXf& radii_2) {
  const int64_t n1 = features_1.rows();
  const int64_t n2 = features_2.rows();
  if (radii_1.rows() != n1 || radii_2.rows() != n2 || features_1.cols() != features_2.cols() || n1 == 0 || n2 == 0) {
    throw DataError(
        "evaluate_pr: expected features_1 [N1, D] with radii_1 [N1, K1] and features_2 [N2, D] with "
        "radii_2 [N2, K2], N1, N2 >= 1");
  }
  check_features(features_1, "reference features");
  check_features(features_2, "sample features");
  const Eigen::Index k1 = radii_1.cols();
  const Eigen::Index k2 = radii_2.cols();
  // features_1_status [N1, K2], features_2_status [N2, K1] as the reference.
  Eigen::Matrix<bool, Eigen::Dynamic, Eigen::Dynamic> status_1 = decltype(status_1)::Constant(n1, k2, false);
  Eigen::Matrix<bool, Eigen::Dynamic, Eigen::Dynamic> status_2 = decltype(status_2)::Constant(n2, k1, false);
  for (int64_t begin1 = 0; begin1 < n1; begin1 += options_.row_batch_size) {
    const int64_t rows = std::min(options_.row_batch_size, n1 - begin1);
    for (int64_t begin2 = 0; begin2 < n2; begin2 += options_.col_batch_size) {
      const int64_t cols = std::min(options_.col_batch_size, n2 - begin2);
      const RowMatrixXf d = distances(features_1.middleRows(begin1, rows), features_2.middleRows(begin2, cols));
      for (int64_t i = 0; i < rows; ++i) {
        for (int64_t j = 0; j < cols; ++j) {
          const float x = d(i, j);
          for (Eigen::Index k = 0; k < k2; ++k) {
            if (x <= radii_2(begin2 + j, k)) status_1(begin1 + i, k) = true;
          }
          for (Eigen::Index k = 0; k < k1; ++k) {
            if (x <= radii_1(begin1 + i, k)) status_2(begin2 + j, k) = true;
          }
        }
      }
    }
  }
  std::vector<double> precision(k1), recall(k2);
  for (Eigen::Index k = 0; k < k1; ++k) precision[k] = status_2.col(k).cast<double>().mean();
  for (Eigen::Index k = 0; k < k2; ++k) recall[k] = status_1.col(k).cast<double>().mean();
  return {precision, recall};
}

PrecisionRecall compute_prec_recall(const FeaturesRef& activations_ref, const FeaturesRef& activations_sample,
                                    ManifoldEstimatorOptions options) {
  ManifoldEstimator estimator(std::move(options));
  const RowMatrixXf radii_1 = estimator.manifold_radii(activations_ref);
  const RowMatrixXf radii_2 = estimator.manifold_radii(activations_sample);
  const auto pr = estimator.evaluate_pr(activations_ref, radii_1, activations_sample, radii_2);
  return {pr.first[0], pr.second[0]};
}

}  // namespace repro::metrics
