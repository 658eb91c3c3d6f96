#pragma once
// FeatureExtractor: the reference evaluator's input pipeline and network (paper-spec §7) in LibTorch.
// uint8 NHWC -> TF1 bilinear resize to 299x299 (metrics/tf1_resize.h) -> (x - 128) / 128 -> NCHW ->
// FidInceptionV3 (eval mode, no grad) -> pool_3, sFID spatial features, bias-free logits.
#include <torch/torch.h>

#include <string>

#include "metrics/feature_network.h"
#include "metrics/inception/fid_inception.h"
#include "metrics/inception/inception_weights.h"

namespace repro::metrics {

struct FeatureExtractorOptions {
  // kRandomInception, "random-inception:SEED", or a weights file (TorchScript .pt or state-dict .pth);
  // no default file: published-comparable numbers need the user's download (inception_weights.h).
  std::string weights = kRandomInception;
  // Images per forward pass; the evaluator's is 64 (evaluator.py L122). Results do not depend on it
  // beyond float rounding.
  int64_t batch_size = 64;
  // "cpu", "cuda", "cuda:1", ...: where the network runs, in float32 (no TF32 on CUDA either:
  // the evaluator's TF graph is float32).
  std::string device = "cpu";
};

class FeatureExtractor : public FeatureNetwork {
 public:
  // Loads the weights (load_fid_inception) and moves the network to the device.
  // Throws ConfigError for batch_size < 1 or a bad device string, IoError for a missing weights file.
  explicit FeatureExtractor(const FeatureExtractorOptions& options);
  // Uses an already-loaded network (tests, callers that share one).
  FeatureExtractor(FidInceptionV3 net, InceptionWeightsInfo info, const FeatureExtractorOptions& options);

  InceptionFeatures compute(const uint8_t* images, int64_t n, int64_t h, int64_t w, int64_t channels,
                            const FeatureTaps& taps = {}, const FeatureProgress& progress = {}) override;
  std::string description() const override;

  const InceptionWeightsInfo& weights_info() const { return info_; }
  FidInceptionV3& network() { return net_; }

 private:
  FidInceptionV3 net_;
  InceptionWeightsInfo info_;
  FeatureExtractorOptions options_;
  torch::Device device_;
};

}  // namespace repro::metrics
