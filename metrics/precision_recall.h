#pragma once
// Improved precision and recall (Kynkaanniemi et al. 2019) exactly as the evaluator's
// ManifoldEstimator / DistanceBlock (from kynkaat/improved-precision-and-recall-metric):
// - distances are squared Euclidean, D = max(|u|^2 - 2 u.v + |v|^2, 0);
// - the radius of a point is the k-th entry of its row of distances to its own set sorted
//   ascending *including itself* (np.partition(row, [0..k])[k]): the squared distance to its k-th
//   nearest neighbour excluding itself, with k = 3 (nhood_sizes = (3,));
// - a point is on the other set's manifold when D <= the radius of some point of that set;
// - precision = fraction of samples on the reference manifold, recall = fraction of reference
//   points on the sample manifold.
//
// Distance blocks (DistancePrecision):
// - kFloat16WithFloat32Fallback (the reference's default): the reference casts both batches to
//   float16 and evaluates the formula in float16 on the GPU, and recomputes the block in float32 when
//   any value is not finite (tf.cond). Emulated here: inputs rounded to float16 (Eigen::half,
//   round-to-nearest-even); squares rounded to float16, summed in float32, rounded (TF's GPU half
//   reductions accumulate in float32); u.v as a float32 GEMM of the rounded inputs (products of two
//   halves are exact in float32; cuBLAS half GEMM accumulates in float32), rounded; then each of
//   2*m, a - 2m, (a - 2m) + b rounded to float16 in TF's order; max(., 0); any inf/NaN -> float32.
//   Only the order of float32 summation can differ from the GPU.
// - kFloat32: the fallback formula in float32 for every block.
//
// Memory: one row_batch x col_batch float32 block (400 MB at the reference's 10,000 x 10,000) plus
// the inputs. Where the reference keeps a [row_batch, N] strip to partition, manifold_radii keeps
// only the k+1 smallest distances per row across column blocks, which selects the same values.
#include <cstdint>
#include <utility>
#include <vector>

#include "metrics/features.h"

namespace repro::metrics {

enum class DistancePrecision { kFloat16WithFloat32Fallback, kFloat32 };

struct ManifoldEstimatorOptions {
  int64_t row_batch_size = 10000;      // rows per distance block (reference: 10000); >= 1
  int64_t col_batch_size = 10000;      // columns per distance block (reference: 10000); >= 1
  std::vector<int> nhood_sizes = {3};  // k values (reference: (3,)); each >= 1
  DistancePrecision precision = DistancePrecision::kFloat16WithFloat32Fallback;  // reference's
};

// The evaluator's DistanceBlock.pairwise_distances: [rows(u), rows(v)] squared distances.
// `used_float32` (optional) is set when the float16 block was not finite and float32 was used.
RowMatrixXf pairwise_distances(const FeaturesRef& u, const FeaturesRef& v, DistancePrecision precision,
                               bool* used_float32 = nullptr);

class ManifoldEstimator {
 public:
  // Throws DataError for batch sizes < 1 or an empty or non-positive nhood_sizes.
  explicit ManifoldEstimator(ManifoldEstimatorOptions options = {});

  // [N, K] radii (K = nhood_sizes.size()) of features [N, D]. Throws DataError when
  // N <= max(nhood_sizes) (a k-th neighbour must exist) or a feature is not finite.
  RowMatrixXf manifold_radii(const FeaturesRef& features);

  // The evaluator's evaluate_pr: features_1 [N1, D] with radii_1 [N1, K1] (the reference batch),
  // features_2 [N2, D] with radii_2 [N2, K2] (the samples). Returns (precision [K1], recall [K2]):
  // precision[k] = fraction of features_2 within radii_1[:, k] of some features_1 row, recall[k] =
  // fraction of features_1 within radii_2[:, k] of some features_2 row. DataError on shape mismatch.
  std::pair<std::vector<double>, std::vector<double>> evaluate_pr(const FeaturesRef& features_1,
                                                                  const RowMatrixXf& radii_1,
                                                                  const FeaturesRef& features_2,
                                                                  const RowMatrixXf& radii_2);

  // Distance blocks computed so far, and how many of them fell back to float32.
  int64_t blocks() const { return blocks_; }
  int64_t float32_fallbacks() const { return float32_fallbacks_; }

 private:
  RowMatrixXf distances(const FeaturesRef& u, const FeaturesRef& v);

  ManifoldEstimatorOptions options_;
  int64_t blocks_ = 0;
  int64_t float32_fallbacks_ = 0;
};

struct PrecisionRecall {
  double precision = 0;
  double recall = 0;
};

// The evaluator's compute_prec_recall(activations_ref, activations_sample) with nhood_sizes[0].
PrecisionRecall compute_prec_recall(const FeaturesRef& activations_ref, const FeaturesRef& activations_sample,
                                    ManifoldEstimatorOptions options = {});

}  // namespace repro::metrics
