#pragma once
// The small UNet the LibTorch tests share: the paper's architecture options at toy size
// (32 channels, one ResBlock per level, attention at half resolution with 32-channel heads).
#include <vector>

#include "core/nn/unet_config.h"

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

}  // namespace repro::test
