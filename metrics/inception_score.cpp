#include "metrics/inception_score.h"

#include <algorithm>
#include <cmath>
#include <string>

#include <Eigen/Core>

#include "base/util/errors.h"

namespace repro::metrics {

double compute_inception_score(const FeaturesRef& logits, int64_t split_size) {
  const int64_t n = logits.rows();
  if (n == 0 || logits.cols() < 1) throw DataError("Inception Score: no predictions");
  if (split_size < 1) throw DataError("Inception Score: split_size must be >= 1, got " + std::to_string(split_size));
  if (!logits.allFinite()) throw DataError("Inception Score: logits contain NaN or infinite values");

  double score_sum = 0.0;
  int64_t num_splits = 0;
  for (int64_t begin = 0; begin < n; begin += split_size) {
    const int64_t rows = std::min(split_size, n - begin);
    // Softmax in float64; subtracting the row max keeps exp() in range.
    Eigen::MatrixXd part = logits.middleRows(begin, rows).cast<double>();
    part.colwise() -= part.rowwise().maxCoeff();
    part = part.array().exp();
    part.array().colwise() /= part.rowwise().sum().array();
    const Eigen::RowVectorXd log_marginal = part.colwise().mean().array().log();
    double kl_sum = 0.0;
    for (int64_t i = 0; i < rows; ++i) {
      for (int64_t j = 0; j < part.cols(); ++j) {
        const double p = part(i, j);
        if (p > 0.0) kl_sum += p * (std::log(p) - log_marginal(j));
      }
    }
    score_sum += std::exp(kl_sum / static_cast<double>(rows));
    ++num_splits;
  }
  return score_sum / static_cast<double>(num_splits);
}

}  // namespace repro::metrics
