#pragma once
// Shared by the dataset tests: Pillow (Debian's python3-pil through test::run_python) writes the
// input images and its own results as .npy; these helpers read them and measure differences.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <string>

#include "base/util/npy.h"
#include "datasets/rgb_image.h"

namespace repro::datasets::test_util {

// A [H, W, 3] uint8 .npy as an RgbImage.
inline RgbImage read_rgb_npy(const std::string& path) {
  const NpyArray a = read_npy(path);
  EXPECT_EQ(a.descr, "|u1") << path;
  EXPECT_EQ(a.shape.size(), 3u) << path;
  if (a.shape.size() != 3 || a.shape[2] != 3)
    ADD_FAILURE() << path << ": expected [H, W, 3], got " << shape_repr(a.shape);
  RgbImage img(static_cast<int>(a.shape[1]), static_cast<int>(a.shape[0]));
  std::copy(a.data.begin(), a.data.end(), reinterpret_cast<char*>(img.pixels.data()));
  return img;
}

struct PixelDiff {
  int max = 0;             // largest |ours - Pillow| over all channels
  double frac_over_1 = 0;  // fraction of channel values off by more than 1 grey level
};

inline PixelDiff pixel_diff(const RgbImage& ours, const RgbImage& pillow) {
  PixelDiff d;
  if (ours.pixels.size() != pillow.pixels.size()) return {256, 1.0};
  size_t over = 0;
  for (size_t i = 0; i < ours.pixels.size(); ++i) {
    const int e = std::abs(int(ours.pixels[i]) - int(pillow.pixels[i]));
    d.max = std::max(d.max, e);
    over += e > 1;
  }
  d.frac_over_1 = ours.pixels.empty() ? 0.0 : double(over) / static_cast<double>(ours.pixels.size());
  return d;
}

// Python prelude: imports, a photo-like test image (smooth colour fields, edges and noise, so every
// filter tap matters) and the reference's center_crop_arr verbatim.
inline const char* kPillowPrelude = R"(
import os, struct, sys
import numpy as np
from PIL import Image

def photo(w, h, seed):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    a = np.stack([128 + 90 * np.sin(x / 5.0 + y / 9.0), 128 + 90 * np.cos(x / 3.0 - y / 7.0),
                  128 + 60 * np.sin((x * y) / 40.0)], -1)
    a[(x // 4 + y // 3) % 5 == 0] = [250, 10, 30]
    a += rng.normal(0, 25, a.shape)
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8), "RGB")

def save_rgb(path, im):
    np.save(path, np.array(im.convert("RGB")))

def center_crop_arr(pil_image, image_size):
    while min(*pil_image.size) >= 2 * image_size:
        pil_image = pil_image.resize(tuple(x // 2 for x in pil_image.size), resample=Image.BOX)
    scale = image_size / min(*pil_image.size)
    pil_image = pil_image.resize(tuple(round(x * scale) for x in pil_image.size), resample=Image.BICUBIC)
    arr = np.array(pil_image)
    crop_y = (arr.shape[0] - image_size) // 2
    crop_x = (arr.shape[1] - image_size) // 2
    return arr[crop_y : crop_y + image_size, crop_x : crop_x + image_size]
)";

// Prints a measured difference so ctest -V (or a failure) shows it.
inline void report(const std::string& what, const PixelDiff& d) {
  std::cout << "[ pillow   ] " << what << ": max diff " << d.max << ", over 1: " << d.frac_over_1 * 100 << "%\n";
}

}  // namespace repro::datasets::test_util
