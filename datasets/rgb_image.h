#pragma once
// An 8-bit RGB image in memory, the layout of np.array(pil_image) for a mode "RGB" image.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace repro::datasets {

struct RgbImage {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> pixels;  // [height, width, 3], row-major, R G B

  RgbImage() = default;
  RgbImage(int w, int h) : width(w), height(h), pixels(static_cast<size_t>(w) * h * 3) {}
  uint8_t* row(int y) { return pixels.data() + static_cast<size_t>(y) * width * 3; }
  const uint8_t* row(int y) const { return pixels.data() + static_cast<size_t>(y) * width * 3; }
};

}  // namespace repro::datasets
