#include "datasets/center_crop.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "base/util/errors.h"
#include "datasets/pil_resize.h"

namespace repro::datasets {
namespace {

// Python's round() of a float: half to even, which nearbyint gives in the default rounding mode.
int python_round(double x) { return static_cast<int>(std::nearbyint(x)); }

}  // namespace

RgbImage center_crop_arr(RgbImage pil_image, int image_size) {
  if (image_size < 1) throw DataError("center_crop_arr: image_size must be >= 1, got " + std::to_string(image_size));
  if (pil_image.width < 1 || pil_image.height < 1) throw DataError("center_crop_arr: empty image");
  while (std::min(pil_image.width, pil_image.height) >= 2 * image_size) {
    pil_image = pil_resize(pil_image, pil_image.width / 2, pil_image.height / 2, Resampling::kBox);
  }
  const double scale = static_cast<double>(image_size) / std::min(pil_image.width, pil_image.height);
  pil_image = pil_resize(pil_image, python_round(pil_image.width * scale), python_round(pil_image.height * scale),
                         Resampling::kBicubic);
  const int crop_y = (pil_image.height - image_size) / 2;  // both >= 0: the short side is image_size
  const int crop_x = (pil_image.width - image_size) / 2;
  RgbImage arr(image_size, image_size);
  for (int y = 0; y < image_size; ++y)
    std::memcpy(arr.row(y), pil_image.row(crop_y + y) + 3 * crop_x, static_cast<size_t>(image_size) * 3);
  return arr;
}

}  // namespace repro::datasets
