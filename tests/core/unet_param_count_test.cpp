// The torch-free count (base/nn/unet_param_count.h) equals what the LibTorch UNet holds, for the
// paper presets and for configs that switch every option that changes the layers.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "base/nn/unet_param_count.h"
#include "core/nn/unet.h"

using namespace repro::core;

namespace {

int64_t torch_count(const UNetConfig& c) {
  torch::NoGradGuard no_grad;
  UNetModel model(c);
  return parameter_count(*model);
}

UNetConfig small(int image_size) {
  UNetConfig c;
  c.image_size = image_size;
  c.num_channels = 32;
  c.num_res_blocks = 1;
  c.num_head_channels = 32;
  return c;
}

}  // namespace

TEST(UNetParamCountVsTorch, PaperPresets) {
  for (int size : {32, 64, 128}) {
    const UNetConfig c = UNetConfig::paper_preset(size);
    EXPECT_EQ(unet_parameter_count(c), torch_count(c)) << size << "px";
  }
}

TEST(UNetParamCountVsTorch, OptionVariants) {
  std::vector<std::pair<std::string, UNetConfig>> configs;
  configs.emplace_back("defaults 32px", small(32));
  UNetConfig c = small(32);
  c.resblock_updown = true, c.learn_sigma = true, c.num_classes = 10;
  configs.emplace_back("updown, learn_sigma, classes", c);
  c = small(64);
  c.conv_resample = false, c.use_scale_shift_norm = false, c.num_res_blocks = 2;
  c.attention_resolutions = {32, 16, 8};
  configs.emplace_back("64px, pooled, plain conditioning", c);
  c = small(32);
  c.channel_mult = {1, 3, 2}, c.in_channels = 1, c.num_head_channels = -1, c.num_heads = 2, c.num_heads_upsample = 4;
  configs.emplace_back("uneven widths, 1 channel, heads", c);
  for (const auto& [what, config] : configs) EXPECT_EQ(unet_parameter_count(config), torch_count(config)) << what;
}
