#pragma once
// ADM's reference/sample batch files (`VIRTUAL_*.npz`, sample npz), read as the evaluator reads
// them, and written in the same layout so that evaluator.py can read ours:
//   arr_0    uint8 [N, H, W, 3]  images in [0, 255] (the evaluator always reads it)
//   mu       float64 [D]         pool_3 mean          } present together or not at all: when "mu" is
//   sigma    float64 [D, D]      pool_3 covariance    } present, the evaluator uses all four
//   mu_s     float64 [Ds]        spatial (sFID) mean  } (read_statistics) instead of computing them
//   sigma_s  float64 [Ds, Ds]    spatial covariance   } from arr_0
//   pool_3   float32 [N, D]      repro's addition (`repro eval ref`): the reference's pool_3 features,
//                                which precision/recall needs; the evaluator ignores the key
// Keys the evaluator does not read are ignored. The whole file is read into memory (ImageNet32's
// 1.28M-image arr_0 is 3.9 GB).
#include <optional>
#include <string>

#include "base/util/npy.h"
#include "metrics/feature_stats.h"

namespace repro::metrics {

struct ReferenceBatch {
  std::optional<NpyArray> images;              // arr_0, dtype |u1, shape [N, H, W, 3]
  std::optional<FidStatistics> stats;          // mu, sigma
  std::optional<FidStatistics> spatial_stats;  // mu_s, sigma_s
  std::optional<RowMatrixXf> pool_3;           // pool_3 features (repro's addition)
};

// Throws IoError for an unreadable file; DataError when arr_0 is not uint8 [N, H, W, 3] with
// N, H, W >= 1, when neither arr_0 nor statistics are present, when "mu" is present without all of
// sigma, mu_s and sigma_s, or when a statistic has the wrong rank, mismatched size or non-finite
// values, or when pool_3 is not float32 [N, D] with finite values.
ReferenceBatch read_reference_batch(const std::string& path);

// Writes the keys present, in the order arr_0, mu, sigma, mu_s, sigma_s (statistics as float64),
// pool_3; to a temporary name renamed at the end (write_npz).
// Throws DataError when stats and spatial_stats are not both set or both unset (the evaluator reads
// all four or none), or when the batch is empty; IoError when writing fails.
void write_reference_batch(const std::string& path, const ReferenceBatch& batch);

}  // namespace repro::metrics
