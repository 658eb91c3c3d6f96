#include "metrics/tf1_resize.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "base/util/errors.h"

namespace repro::metrics {
namespace {

struct Tap {
  int64_t lower, upper;
  float lerp;
};

// TF1's compute_interpolation_weights with LegacyScaler.
std::vector<Tap> interpolation_weights(int64_t out_size, int64_t in_size) {
  const float scale = static_cast<float>(in_size) / static_cast<float>(out_size);
  std::vector<Tap> taps(out_size);
  for (int64_t i = 0; i < out_size; ++i) {
    const float in = static_cast<float>(i) * scale;
    const float in_f = std::floor(in);
    taps[i].lower = std::max(static_cast<int64_t>(in_f), int64_t{0});
    taps[i].upper = std::min(static_cast<int64_t>(std::ceil(in)), in_size - 1);
    taps[i].lerp = in - in_f;
  }
  return taps;
}

}  // namespace

std::vector<float> resize_bilinear_tf1(const uint8_t* images, int64_t n, int64_t in_h, int64_t in_w, int64_t c,
                                       int64_t out_h, int64_t out_w) {
  if (n < 0 || in_h < 1 || in_w < 1 || c < 1 || out_h < 1 || out_w < 1 || (n > 0 && images == nullptr)) {
    throw DataError("resize_bilinear_tf1: expected images [N, H, W, C] with every size >= 1");
  }
  const std::vector<Tap> ys = interpolation_weights(out_h, in_h);
  const std::vector<Tap> xs = interpolation_weights(out_w, in_w);
  std::vector<float> out(static_cast<size_t>(n * out_h * out_w * c));
  float* o = out.data();
  for (int64_t b = 0; b < n; ++b) {
    const uint8_t* img = images + b * in_h * in_w * c;
    for (int64_t y = 0; y < out_h; ++y) {
      const uint8_t* top_row = img + ys[y].lower * in_w * c;
      const uint8_t* bottom_row = img + ys[y].upper * in_w * c;
      for (int64_t x = 0; x < out_w; ++x) {
        for (int64_t ch = 0; ch < c; ++ch) {
          const float tl = top_row[xs[x].lower * c + ch];
          const float tr = top_row[xs[x].upper * c + ch];
          const float bl = bottom_row[xs[x].lower * c + ch];
          const float br = bottom_row[xs[x].upper * c + ch];
          const float top = tl + (tr - tl) * xs[x].lerp;
          const float bottom = bl + (br - bl) * xs[x].lerp;
          *o++ = top + (bottom - top) * ys[y].lerp;
        }
      }
    }
  }
  return out;
}

std::vector<float> inception_input(const uint8_t* images, int64_t n, int64_t h, int64_t w, int64_t channels) {
  if (channels != 3) {
    throw DataError("inception_input: expected RGB images [N, H, W, 3], got " + std::to_string(channels) + " channels");
  }
  std::vector<float> x = resize_bilinear_tf1(images, n, h, w, channels, kInceptionSize, kInceptionSize);
  // The graph's Sub(128) then Mul(1/128); 1/128 is a power of two, so this equals the division.
  for (float& v : x) v = (v - 128.0f) / 128.0f;
  return x;
}

}  // namespace repro::metrics
