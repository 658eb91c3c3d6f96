#pragma once
// Kernel Inception Distance (Binkowski et al. 2018), an extra beyond the evaluator, computed as
// clean-fid's kernel_distance: cubic polynomial kernel k(x, y) = (x.y / D + 1)^3, the unbiased
// MMD^2 estimate averaged over random subsets. float64 throughout.
#include <cstdint>

#include "metrics/features.h"

namespace repro::metrics {

struct KidOptions {
  int64_t num_subsets = 100;       // subsets averaged (clean-fid and the KID paper: 100)
  int64_t max_subset_size = 1000;  // subset size m = min(N1, N2, this) (clean-fid: 1000)
  // Subsets are drawn without replacement with std::mt19937_64(seed); clean-fid uses numpy's global
  // RNG, so individual subsets (not the expectation) differ from clean-fid's.
  uint64_t seed = 0;
};

// features_1 [N1, D] (reference), features_2 [N2, D] (samples). Throws DataError when the
// dimensions differ, a subset would have fewer than 2 rows, num_subsets < 1, or a value is not
// finite. When N1 == N2 <= max_subset_size every subset is a permutation of both sets and the
// result is the exact unbiased MMD^2 of the full sets.
double kernel_inception_distance(const FeaturesRef& features_1, const FeaturesRef& features_2,
                                 const KidOptions& options = {});

}  // namespace repro::metrics
