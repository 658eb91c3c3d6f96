#pragma once
// How a source reader hands out images: one at a time, so a 1.28M-image source can stream into
// the packed writer without holding all of it in memory. LabeledImages collects them when it fits.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

namespace repro::datasets {

// Receives one image [height, width, 3] uint8 RGB (valid only during the call) and its label,
// kNoLabel where the source has none. Images come in the source's order.
using ImageSink = std::function<void(const uint8_t* image, int64_t label)>;
inline constexpr int64_t kNoLabel = -1;

// Images of one size collected in memory.
struct LabeledImages {
  int height = 0;
  int width = 0;
  std::vector<uint8_t> images;  // [N, height, width, 3] uint8 RGB
  std::vector<int64_t> labels;  // [N], kNoLabel where the source has none

  LabeledImages() = default;
  LabeledImages(int h, int w) : height(h), width(w) {}
  size_t bytes_per_image() const { return static_cast<size_t>(height) * width * 3; }
  size_t size() const { return labels.size(); }
  const uint8_t* image(size_t i) const { return images.data() + i * bytes_per_image(); }
  // A sink that appends to this object; it must outlive the sink.
  ImageSink sink() {
    return [this](const uint8_t* image, int64_t label) {
      images.insert(images.end(), image, image + bytes_per_image());
      labels.push_back(label);
    };
  }
};

}  // namespace repro::datasets
