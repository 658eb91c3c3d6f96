#include "core/diffusion/image_output.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#include <stb/stb_image_write.h>

#include "base/util/errors.h"
#include "base/util/file_io.h"

namespace repro::core {

ToUint8 parse_to_uint8(const std::string& name, const std::string& option) {
  if (name == "truncate") return ToUint8::kTruncate;
  if (name == "round") return ToUint8::kRound;
  throw ConfigError("", option, "expected truncate (ADM's) or round (torchvision's save_image), got '" + name + "'");
}

torch::Tensor to_uint8_nhwc(const torch::Tensor& x, ToUint8 mode) {
  TORCH_CHECK(x.dim() == 4, "to_uint8_nhwc: expected [N, C, H, W], got ", x.sizes());
  const torch::Tensor f = x.to(torch::kFloat32);
  // to(kUInt8) truncates toward zero after the clamp, as .to(th.uint8) does in both references.
  const torch::Tensor scaled =
      mode == ToUint8::kTruncate ? (f + 1) * 127.5 : ((f + 1) / 2).clamp(0, 1).mul(255).add(0.5);
  return scaled.clamp(0, 255).to(torch::kUInt8).permute({0, 2, 3, 1}).contiguous().cpu();
}

void write_png_grid(const std::string& path, const torch::Tensor& images_in, int columns, int max_images) {
  TORCH_CHECK(images_in.dim() == 4 && images_in.scalar_type() == torch::kUInt8,
              "write_png_grid: expected [N, H, W, C] uint8");
  auto images = images_in.contiguous().cpu();
  const int64_t n = std::min<int64_t>(images.size(0), max_images);
  const int64_t h = images.size(1), w = images.size(2), c = images.size(3);
  TORCH_CHECK(c == 1 || c == 3, "write_png_grid: expected 1 or 3 channels, got ", c);
  const int64_t cols = std::max<int64_t>(1, std::min<int64_t>(columns, n));
  const int64_t rows = (n + cols - 1) / cols;
  const int64_t pad = 2;
  const int64_t gw = cols * (w + pad) + pad, gh = rows * (h + pad) + pad;
  std::vector<uint8_t> grid(gw * gh * c, 0);
  const uint8_t* src = images.data_ptr<uint8_t>();
  for (int64_t i = 0; i < n; ++i) {
    const int64_t r0 = pad + (i / cols) * (h + pad), c0 = pad + (i % cols) * (w + pad);
    for (int64_t y = 0; y < h; ++y)
      std::copy_n(src + ((i * h + y) * w) * c, w * c, grid.data() + ((r0 + y) * gw + c0) * c);
  }
  std::string png;
  auto append = [](void* ctx, void* data, int size) {
    static_cast<std::string*>(ctx)->append(static_cast<const char*>(data), size);
  };
  if (!stbi_write_png_to_func(append, &png, static_cast<int>(gw), static_cast<int>(gh), static_cast<int>(c),
                              grid.data(), static_cast<int>(gw * c)))
    throw IoError("could not encode the PNG grid for " + path);
  write_file_atomic(path, png);
}

}  // namespace repro::core
