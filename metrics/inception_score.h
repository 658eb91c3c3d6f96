#pragma once
// The evaluator's compute_inception_score (from improved-gan's inception_score/model.py).
#include <cstdint>

#include "metrics/features.h"

namespace repro::metrics {

// logits: [N, C] (C = 1008 for the FID Inception: pool_3 times softmax/logits/MatMul's weight, no
// bias). softmax per row, then the rows are cut in input order into splits of split_size; the last
// split keeps the remainder (range(0, N, split_size): N = 12000 gives 5000, 5000, 2000), and every
// split weighs the same. IS = mean over splits of exp(mean_i KL(p(y|x_i) || mean_i p(y|x_i))).
//
// Differences from the reference, each below 1e-5 relative on real logits: the reference computes
// in float32 (TF softmax, numpy float32 means), this in float64; a probability that underflows to
// exactly 0 contributes 0 (0 log 0 = 0) where the reference's 0 * log(0) would make the score NaN.
// Throws DataError when N == 0, C < 1, split_size < 1 or a logit is not finite.
double compute_inception_score(const FeaturesRef& logits, int64_t split_size = 5000);

}  // namespace repro::metrics
