#pragma once
// The feature matrices the metrics take: one row per image, as the evaluator's numpy arrays.
// Callers holding a raw buffer wrap it without copying: Eigen::Map<const RowMatrixXf>(ptr, n, d).
#include <Eigen/Core>

namespace repro::metrics {

// [N, D] float32, row-major (the layout of np.float32 activations and of .npy files).
using RowMatrixXf = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using FeaturesRef = Eigen::Ref<const RowMatrixXf>;

}  // namespace repro::metrics
