#pragma once
#include <torch/torch.h>

#include <string>

namespace repro::core {

// The reference's sample conversion: ((x + 1) * 127.5).clamp(0, 255) truncated to uint8, NCHW ->
// NHWC. x: [N, C, H, W] float in about [-1, 1]. Returns [N, H, W, C] uint8 on the CPU.
torch::Tensor to_uint8_nhwc(const torch::Tensor& x);

// Writes up to `max_images` of `images` ([N, H, W, C] uint8, C = 1 or 3) as one PNG grid with
// `columns` columns and a 2-pixel black border. Atomic (temp file + rename); throws IoError.
void write_png_grid(const std::string& path, const torch::Tensor& images, int columns = 8, int max_images = 64);

}  // namespace repro::core
