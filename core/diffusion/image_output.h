#pragma once
#include <torch/torch.h>

#include <string>

namespace repro::core {

// How a sample in [-1, 1] becomes a byte (the sample option eval.to_uint8).
enum class ToUint8 {
  kTruncate,  // ADM's image_sample.py: ((x + 1) * 127.5).clamp(0, 255).to(uint8)
  kRound,     // ermongroup/ddim's torchvision save_image: (((x + 1) / 2).clamp(0, 1) * 255 + 0.5).clamp(0, 255)
};

// "truncate" or "round"; throws ConfigError naming `option` for anything else.
ToUint8 parse_to_uint8(const std::string& name, const std::string& option);

// The sample conversion (float32 arithmetic, as both references), NCHW -> NHWC. x: [N, C, H, W]
// float in about [-1, 1]. Returns [N, H, W, C] uint8 on the CPU.
torch::Tensor to_uint8_nhwc(const torch::Tensor& x, ToUint8 mode = ToUint8::kTruncate);

// Writes up to `max_images` of `images` ([N, H, W, C] uint8, C = 1 or 3) as one PNG grid with
// `columns` columns and a 2-pixel black border. Atomic (temp file + rename); throws IoError.
void write_png_grid(const std::string& path, const torch::Tensor& images, int columns = 8, int max_images = 64);

}  // namespace repro::core
