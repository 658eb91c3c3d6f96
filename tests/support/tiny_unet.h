#pragma once
// The small UNet the LibTorch tests share: the paper's architecture options at toy size
// (32 channels, one ResBlock per level, attention at half resolution with 32-channel heads).
#include <fstream>
#include <string>
#include <vector>

#include "base/nn/unet_config.h"
#include "tests/support/test_support.h"

namespace repro::test {

inline core::UNetConfig tiny_unet(int image_size, std::vector<double> channel_mult) {
  core::UNetConfig c;
  c.image_size = image_size;
  c.num_channels = 32;
  c.channel_mult = std::move(channel_mult);
  c.num_res_blocks = 1;
  c.attention_resolutions = {image_size / 2};
  c.num_head_channels = 32;
  c.learn_sigma = true;
  c.resblock_updown = true;
  c.use_new_attention_order = true;
  return c;
}

// tiny_unet(8, {1, 1}) as the `model:` section of a train.yaml.
inline constexpr const char* kTinyUnet8Yaml =
    "model:\n  image_size: 8\n  num_channels: 32\n  channel_mult: [1, 1]\n  num_res_blocks: 1\n"
    "  attention_resolutions: [4]\n  num_head_channels: 32\n  learn_sigma: true\n  resblock_updown: true\n"
    "  use_new_attention_order: true\n";

// A `repro train` run of the tiny UNet: dir/data.npz with `images` random 8x8 images (NumPy,
// write_numpy_images with `seed`) and dir/train.yaml, kTinyUnet8Yaml then `sections` (diffusion:,
// train:, data: with path data.npz). False when NumPy failed.
inline bool write_tiny_train_files(const TempDir& dir, int images, int seed, const std::string& sections) {
  if (!write_numpy_images(dir, "data.npz", images, seed)) return false;
  std::ofstream(dir.file("train.yaml")) << kTinyUnet8Yaml << sections;
  return true;
}

}  // namespace repro::test
