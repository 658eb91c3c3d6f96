#pragma once
// The feature network seen by the metrics and the runner: uint8 images in, the evaluator's three
// feature matrices out. Torch-free, so callers (repro eval, the runner) can use a small in-memory fake
// in tests; FeatureExtractor (feature_extractor.h) is the real implementation.
#include <cstdint>
#include <functional>
#include <string>

#include "metrics/features.h"

namespace repro::metrics {

// Which taps to compute (skipping one saves only its copy, not network work).
struct FeatureTaps {
  bool pool_3 = true;   // [N, 2048]: FID, precision/recall
  bool spatial = true;  // [N, 2023]: sFID (mixed_6/conv[..., :7], (h, w, c) order)
  bool logits = true;   // [N, 1008]: Inception Score (no bias)
};

// Rows in input order; a tap not requested is an empty [0, 0] matrix.
struct InceptionFeatures {
  RowMatrixXf pool_3;
  RowMatrixXf spatial;
  RowMatrixXf logits;
};

// Called after each batch with the images done so far and the total.
using FeatureProgress = std::function<void(int64_t done, int64_t total)>;

class FeatureNetwork {
 public:
  virtual ~FeatureNetwork() = default;
  // images: [n, h, w, 3] uint8 NHWC in [0, 255], any h, w >= 1. Throws DataError when channels != 3.
  virtual InceptionFeatures compute(const uint8_t* images, int64_t n, int64_t h, int64_t w, int64_t channels,
                                    const FeatureTaps& taps = {}, const FeatureProgress& progress = {}) = 0;
  // One line for the recipe: network, weights source, SHA-256 (or seed).
  virtual std::string description() const = 0;
};

}  // namespace repro::metrics
