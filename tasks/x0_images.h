#pragma once
// Real images as x0 for the chains that start from data (Table 1's eval.start, `repro exposure`):
// the first n images of a reference batch or a prepared dataset, scaled as the reference's
// image_datasets.py does (v / 127.5 - 1).
#include <torch/torch.h>

#include <cstdint>
#include <string>

#include "base/nn/unet_config.h"

namespace repro::tasks {

// Images [first, first + n) of `path` as float32 [n, C, H, W] in [-1, 1], C, H and W those of
// `model` (in_channels, image_size). `path`: an .npz whose arr_0 is uint8 [N, H, W, C] (a reference
// batch, ADM's VIRTUAL_*.npz included; read with the bounded npz reader) or a prepared dataset
// folder (`repro data prepare`). Throws DataError naming the file, and expected against got, for
// fewer than first + n images or another image size or channel count; IoError when unreadable.
torch::Tensor read_x0_images(const std::string& path, int64_t first, int64_t n, const core::UNetConfig& model);

}  // namespace repro::tasks
