#pragma once
// A small random image dataset the LibTorch tests train and load from.
#include <torch/torch.h>

#include <string>

#include "base/util/npy.h"
#include "core/util/tensor_npy.h"
#include "tests/support/test_support.h"

namespace repro::test {

// n random 8x8 RGB uint8 images (fixed seed) as dir/data.npz (arr_0); returns its path.
inline std::string write_dataset(const TempDir& dir, int64_t n) {
  torch::manual_seed(5);
  auto images = torch::randint(0, 256, {n, 8, 8, 3}, torch::kUInt8);
  const std::string path = dir.file("data.npz");
  write_npz(path, {{"arr_0", core::to_npy(images)}});
  return path;
}

}  // namespace repro::test
