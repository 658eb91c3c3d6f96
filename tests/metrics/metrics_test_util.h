#pragma once
// Shared by the metrics tests: seeded random features and .npy hand-over to the numpy/scipy
// transcriptions run through Debian's /usr/bin/python3.
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "base/util/npy.h"
#include "metrics/features.h"

namespace repro::metrics::test_util {

inline RowMatrixXf random_features(int64_t n, int64_t d, uint64_t seed, float scale = 1.0f, float offset = 0.0f) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  RowMatrixXf x(n, d);
  for (int64_t i = 0; i < x.size(); ++i) x.data()[i] = offset + scale * normal(rng);
  return x;
}

inline void save(const std::string& path, const RowMatrixXf& x) {
  write_npy(path, make_npy_array(std::vector<float>(x.data(), x.data() + x.size()), {x.rows(), x.cols()}));
}

inline void save(const std::string& path, const Eigen::MatrixXd& x) {
  const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> r = x;
  write_npy(path, make_npy_array(std::vector<double>(r.data(), r.data() + r.size()), {x.rows(), x.cols()}));
}

inline std::vector<double> load(const std::string& path) { return as_float64(read_npy(path), path); }

}  // namespace repro::metrics::test_util
