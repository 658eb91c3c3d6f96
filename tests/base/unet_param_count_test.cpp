// unet_parameter_count against independent truth: a one-level model counted by hand layer by
// layer, the effect of each option on it by hand, and the paper's published model sizes
// (paper-spec Table 9 / §4.6). tests/core/unet_param_count_test.cpp checks it against LibTorch.
#include <gtest/gtest.h>

#include "base/nn/unet_param_count.h"
#include "base/util/errors.h"

using namespace repro::core;

namespace {

// 8x8 RGB, one level of 32 channels, one ResBlock, no attention but the middle block's, eps only,
// plain (not scale-shift) conditioning.
UNetConfig one_level() {
  UNetConfig c;
  c.image_size = 8;
  c.num_channels = 32;
  c.channel_mult = {1};
  c.num_res_blocks = 1;
  c.attention_resolutions = {};
  c.use_scale_shift_norm = false;
  c.learn_sigma = false;
  return c;
}

}  // namespace

TEST(UNetParamCount, OneLevelModelCountedByHand) {
  const int64_t time_embed = (32 * 128 + 128) + (128 * 128 + 128);  // Linear(32,128), Linear(128,128)
  const int64_t input_conv = 3 * 32 * 9 + 32;
  // GN(32) + conv3x3(32,32) + Linear(128,32) + GN(32) + conv3x3(32,32)
  const int64_t res32 = 64 + (32 * 32 * 9 + 32) + (128 * 32 + 32) + 64 + (32 * 32 * 9 + 32);
  const int64_t attention32 = 64 + (32 * 96 + 96) + (32 * 32 + 32);  // GN, qkv, proj_out
  // The output blocks take the skip's 32 channels too: GN(64) + conv3x3(64,32) + Linear + GN(32) +
  // conv3x3(32,32) + the 1x1 skip_connection(64,32).
  const int64_t res64to32 = 128 + (64 * 32 * 9 + 32) + (128 * 32 + 32) + 64 + (32 * 32 * 9 + 32) + (64 * 32 + 32);
  const int64_t out = 64 + (32 * 3 * 9 + 3);
  const int64_t expected = time_embed + input_conv + res32 + (2 * res32 + attention32) + 2 * res64to32 + out;
  EXPECT_EQ(expected, 163331);  // the sum above, added up by hand once
  EXPECT_EQ(unet_parameter_count(one_level()), expected);
}

TEST(UNetParamCount, EachOptionAddsWhatItsLayersHold) {
  const int64_t base = 163331;
  UNetConfig c = one_level();
  c.learn_sigma = true;  // the final conv writes 6 channels: 3 more filters of 32*9 weights + bias
  EXPECT_EQ(unet_parameter_count(c), base + int64_t{3} * (32 * 9 + 1));
  c = one_level();
  c.use_scale_shift_norm = true;  // every ResBlock's Linear(128, 32) becomes Linear(128, 64): 1 + 2 middle + 2 up
  EXPECT_EQ(unet_parameter_count(c), base + int64_t{5} * (128 * 32 + 32));
  c = one_level();
  c.num_classes = 10;  // label_emb: Embedding(10, 128)
  EXPECT_EQ(unet_parameter_count(c), base + int64_t{10} * 128);
  c = one_level();
  c.attention_resolutions = {8};  // attention after the input ResBlock and each of 2 output ResBlocks
  EXPECT_EQ(unet_parameter_count(c), base + int64_t{3} * (64 + (32 * 96 + 96) + (32 * 32 + 32)));
}

TEST(UNetParamCount, ResamplingBetweenLevels) {
  UNetConfig c = one_level();
  c.channel_mult = {1, 1};  // two levels of 32: a Downsample and an Upsample between them
  c.conv_resample = false;  // pooling and nearest upsampling hold nothing
  const int64_t pooled = unet_parameter_count(c);
  c.conv_resample = true;  // each becomes a 3x3 conv(32, 32)
  EXPECT_EQ(unet_parameter_count(c), pooled + int64_t{2} * (32 * 32 * 9 + 32));
  c.resblock_updown = true;  // each becomes a ResBlock(32 -> 32) without a skip conv
  const int64_t res32 = 64 + (32 * 32 * 9 + 32) + (128 * 32 + 32) + 64 + (32 * 32 * 9 + 32);
  EXPECT_EQ(unet_parameter_count(c), pooled + 2 * res32);
}

TEST(UNetParamCount, PaperModelSizes) {
  // paper-spec Table 9: 57.09M, 295.14M, 542.81M (the exact counts of §4.6).
  EXPECT_EQ(unet_parameter_count(UNetConfig::paper_preset(32)), 57094662);
  EXPECT_EQ(unet_parameter_count(UNetConfig::paper_preset(64)), 295136454);
  EXPECT_EQ(unet_parameter_count(UNetConfig::paper_preset(128)), 542811398);
}

TEST(UNetParamCount, RefusesWhatTheNetworkRefuses) {
  UNetConfig c = one_level();
  c.num_channels = 48;  // GroupNorm(32) cannot split 48 channels
  EXPECT_THROW(unet_parameter_count(c), repro::ConfigError);
}
