#include "metrics/kid.h"

#include <algorithm>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "base/util/errors.h"
#include "metrics/blas.h"

namespace repro::metrics {
namespace {

// m distinct row indices of [0, n): a partial Fisher-Yates shuffle.
std::vector<int64_t> choose(int64_t n, int64_t m, std::mt19937_64& rng) {
  std::vector<int64_t> idx(n);
  std::iota(idx.begin(), idx.end(), 0);
  for (int64_t i = 0; i < m; ++i) {
    std::uniform_int_distribution<int64_t> pick(i, n - 1);
    std::swap(idx[i], idx[pick(rng)]);
  }
  idx.resize(m);
  return idx;
}

Eigen::MatrixXd gather(const FeaturesRef& f, const std::vector<int64_t>& idx) {
  Eigen::MatrixXd out(idx.size(), f.cols());
  for (size_t i = 0; i < idx.size(); ++i) out.row(i) = f.row(idx[i]).cast<double>();
  return out;
}

}  // namespace

double kernel_inception_distance(const FeaturesRef& features_1, const FeaturesRef& features_2,
                                 const KidOptions& options) {
  if (features_1.cols() != features_2.cols()) {
    throw DataError("KID: feature dimensions differ: " + std::to_string(features_1.cols()) + " and " +
                    std::to_string(features_2.cols()));
  }
  const int64_t m = std::min({features_1.rows(), features_2.rows(), options.max_subset_size});
  if (m < 2) throw DataError("KID: subsets need at least 2 feature vectors per set, got " + std::to_string(m));
  if (options.num_subsets < 1) throw DataError("KID: num_subsets must be >= 1");
  if (!features_1.allFinite() || !features_2.allFinite())
    throw DataError("KID: features contain NaN or infinite values");
  const double d = static_cast<double>(features_1.cols());
  const auto kernel = [d](const Eigen::MatrixXd& a, const Eigen::MatrixXd& b) {
    return (blas::gemm_nt(a, b).array() / d + 1.0).cube().matrix().eval();
  };
  std::mt19937_64 rng(options.seed);
  double t = 0.0;
  for (int64_t s = 0; s < options.num_subsets; ++s) {
    const Eigen::MatrixXd x = gather(features_2, choose(features_2.rows(), m, rng));
    const Eigen::MatrixXd y = gather(features_1, choose(features_1.rows(), m, rng));
    const Eigen::MatrixXd a = kernel(x, x) + kernel(y, y);
    const Eigen::MatrixXd b = kernel(x, y);
    t += (a.sum() - a.diagonal().sum()) / static_cast<double>(m - 1) - b.sum() * 2.0 / static_cast<double>(m);
  }
  return t / static_cast<double>(options.num_subsets) / static_cast<double>(m);
}

}  // namespace repro::metrics
