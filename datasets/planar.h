#pragma once
// CIFAR-10 records and downsampled-ImageNet rows store an image channel-planar: R[0:H*W],
// G[H*W:2*H*W], B[2*H*W:3*H*W], each plane row-major. The reference turns a row into HWC with
// np.dstack((x[:, :1024], x[:, 1024:2048], x[:, 2048:])).reshape((N, 32, 32, 3))
// (datasets/imagenet32_npz.py), which is this interleave.
#include <cstddef>
#include <cstdint>

namespace repro::datasets {

// planar [3, height, width] -> hwc [height, width, 3]. The buffers must not overlap.
inline void planar_to_hwc(const uint8_t* planar, int height, int width, uint8_t* hwc) {
  const size_t plane = static_cast<size_t>(height) * width;
  for (size_t p = 0; p < plane; ++p) {
    hwc[3 * p] = planar[p];
    hwc[3 * p + 1] = planar[plane + p];
    hwc[3 * p + 2] = planar[2 * plane + p];
  }
}

}  // namespace repro::datasets
