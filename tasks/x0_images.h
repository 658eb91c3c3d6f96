#pragma once
// Real images as x0 for the chains that start from data (Table 1's eval.start, `repro exposure`):
// the first n images of a reference batch or a prepared dataset, scaled as the reference's
// image_datasets.py does (v / 127.5 - 1).
#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>

#include "base/nn/unet_config.h"

namespace repro::tasks {

// Images [first, first + n) of `path` as float32 [n, C, H, W] in [-1, 1], C, H and W those of
// `model` (in_channels, image_size). `path`: an .npz whose arr_0 is uint8 [N, H, W, C] (a reference
// batch, ADM's VIRTUAL_*.npz included; read with the bounded npz reader) or a prepared dataset
// folder (`repro data prepare`). Throws DataError naming the file, and expected against got, for
// fewer than first + n images or another image size or channel count; IoError when unreadable.
torch::Tensor read_x0_images(const std::string& path, int64_t first, int64_t n, const core::UNetConfig& model);

// The same source opened once, for callers that take its rows batch by batch: an .npz's arr_0 is
// read (and checked) once and held as uint8; a prepared dataset stays memory-mapped.
class X0Images {
 public:
  // Throws as read_x0_images for an unreadable file or another image size or channel count.
  X0Images(const std::string& path, const core::UNetConfig& model);
  ~X0Images();
  X0Images(const X0Images&) = delete;
  X0Images& operator=(const X0Images&) = delete;

  int64_t size() const;  // N, the images the source holds
  const std::string& path() const { return path_; }
  // Rows [first, first + n) as float32 [n, C, H, W] in [-1, 1]. Throws DataError when the source
  // holds fewer than first + n images (or first, n < 0).
  torch::Tensor rows(int64_t first, int64_t n) const;

 private:
  struct Source;
  std::string path_;
  std::unique_ptr<Source> source_;
};

}  // namespace repro::tasks
