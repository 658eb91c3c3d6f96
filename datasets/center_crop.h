#pragma once
// center_crop_arr from guided-diffusion image_datasets.py (the default, random_crop=False):
//   while min(*pil_image.size) >= 2 * image_size:
//       pil_image = pil_image.resize(tuple(x // 2 for x in pil_image.size), resample=Image.BOX)
//   scale = image_size / min(*pil_image.size)
//   pil_image = pil_image.resize(tuple(round(x * scale) for x in pil_image.size), resample=Image.BICUBIC)
//   arr = np.array(pil_image)
//   crop_y = (arr.shape[0] - image_size) // 2; crop_x = (arr.shape[1] - image_size) // 2
//   return arr[crop_y : crop_y + image_size, crop_x : crop_x + image_size]
#include "datasets/rgb_image.h"

namespace repro::datasets {

// The image_size x image_size centre of `pil_image` after the reference's downscale; bit-exact to
// the Python above with Pillow 9.4. Throws DataError when image_size < 1 or the image is empty.
RgbImage center_crop_arr(RgbImage pil_image, int image_size);

}  // namespace repro::datasets
