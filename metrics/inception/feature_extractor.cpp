#include "metrics/inception/feature_extractor.h"

#include <algorithm>
#include <cstring>

#include "base/util/errors.h"
#include "core/util/device.h"
#include "metrics/tf1_resize.h"

namespace repro::metrics {
namespace {

torch::Device parse_device(const std::string& device) {
  try {
    return torch::Device(device);
  } catch (const c10::Error&) {
    throw ConfigError("features", "device", "expected cpu, cuda or cuda:N, got '" + device + "'");
  }
}

void validate(const FeatureExtractorOptions& options) {
  if (options.batch_size < 1) {
    throw ConfigError("features", "batch_size", "expected >= 1, got " + std::to_string(options.batch_size));
  }
}

void copy_rows(const torch::Tensor& t, RowMatrixXf& dst, int64_t row) {
  const torch::Tensor c = t.to(torch::kCPU, torch::kFloat32).contiguous();
  std::memcpy(dst.data() + row * dst.cols(), c.data_ptr<float>(), static_cast<size_t>(c.numel()) * sizeof(float));
}

}  // namespace

FeatureExtractor::FeatureExtractor(const FeatureExtractorOptions& options)
    : net_(nullptr), options_(options), device_(parse_device(options.device)) {
  validate(options);
  net_ = load_fid_inception(options.weights, &info_);
  net_->to(device_);
  net_->eval();
}

FeatureExtractor::FeatureExtractor(FidInceptionV3 net, InceptionWeightsInfo info,
                                   const FeatureExtractorOptions& options)
    : net_(std::move(net)), info_(std::move(info)), options_(options), device_(parse_device(options.device)) {
  validate(options);
  net_->to(device_);
  net_->eval();
}

InceptionFeatures FeatureExtractor::compute(const uint8_t* images, int64_t n, int64_t h, int64_t w, int64_t channels,
                                            const FeatureTaps& taps, const FeatureProgress& progress) {
  if (channels != 3 || n < 0 || h < 1 || w < 1 || (n > 0 && images == nullptr)) {
    throw DataError("FeatureExtractor: expected uint8 images [N, H, W, 3], got [" + std::to_string(n) + ", " +
                    std::to_string(h) + ", " + std::to_string(w) + ", " + std::to_string(channels) + "]");
  }
  InceptionFeatures out;
  if (taps.pool_3) out.pool_3.resize(n, kPoolDim);
  if (taps.spatial) out.spatial.resize(n, kSpatialDim);
  if (taps.logits) out.logits.resize(n, kLogitsDim);
  torch::NoGradGuard no_grad;
  const core::NoTf32 float32;
  const int64_t image_bytes = h * w * channels;
  for (int64_t start = 0; start < n; start += options_.batch_size) {
    const int64_t count = std::min(options_.batch_size, n - start);
    std::vector<float> x = inception_input(images + start * image_bytes, count, h, w, channels);
    torch::Tensor input = torch::from_blob(x.data(), {count, kInceptionSize, kInceptionSize, 3}, torch::kFloat32)
                              .to(device_)
                              .permute({0, 3, 1, 2})
                              .contiguous();
    const InceptionTaps result = net_->forward(input);
    if (taps.pool_3) copy_rows(result.pool_3, out.pool_3, start);
    if (taps.spatial) copy_rows(spatial_features(result.mixed_6_conv), out.spatial, start);
    if (taps.logits) copy_rows(result.logits, out.logits, start);
    if (progress) progress(start + count, n);
  }
  return out;
}

std::string FeatureExtractor::description() const {
  std::string d = "FID Inception-v3 2015-12-05 (native LibTorch, TF variant), weights " + info_.source;
  if (info_.format == "random") {
    d += " (seed " + std::to_string(info_.seed) + "; not comparable with published FIDs)";
  } else {
    d += " (" + info_.format + ", sha256 " + info_.sha256 +
         (info_.pinned ? ", the published file)" : ", not a published file)");
  }
  return d;
}

}  // namespace repro::metrics
