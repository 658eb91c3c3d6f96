// The torch-free count (base/nn/unet_param_count.h) and state dict (base/nn/unet_state_shapes.h)
// equal what the LibTorch UNet holds, for the paper presets and for configs that switch every
// option that changes the layers.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "base/nn/unet_param_count.h"
#include "base/nn/unet_state_shapes.h"
#include "core/nn/unet.h"
#include "core/util/checkpoint.h"

using namespace repro::core;

namespace {

int64_t torch_count(const UNetConfig& c) {
  torch::NoGradGuard no_grad;
  UNetModel model(c);
  return parameter_count(*model);
}

// module_state's names and sizes, in its order.
StateShapes torch_state_shapes(const UNetModel& model) {
  StateShapes out;
  for (const auto& [name, t] : module_state(*model)) out.emplace_back(name, t.sizes().vec());
  return out;
}

UNetConfig small(int image_size) {
  UNetConfig c;
  c.image_size = image_size;
  c.num_channels = 32;
  c.num_res_blocks = 1;
  c.num_head_channels = 32;
  return c;
}

std::vector<std::pair<std::string, UNetConfig>> option_variants() {
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
  return configs;
}

}  // namespace

TEST(UNetParamCountVsTorch, PaperPresets) {
  for (int size : {32, 64, 128}) {
    const UNetConfig c = UNetConfig::paper_preset(size);
    EXPECT_EQ(unet_parameter_count(c), torch_count(c)) << size << "px";
  }
}

TEST(UNetParamCountVsTorch, OptionVariants) {
  for (const auto& [what, config] : option_variants())
    EXPECT_EQ(unet_parameter_count(config), torch_count(config)) << what;
}

TEST(UNetStateShapesVsTorch, PaperPresetsKeyByKeyInOrder) {
  for (int size : {32, 64, 128}) {
    torch::NoGradGuard no_grad;
    const UNetConfig c = UNetConfig::paper_preset(size);
    EXPECT_EQ(unet_state_shapes(c), torch_state_shapes(UNetModel(c))) << size << "px";
  }
}

TEST(UNetStateShapesVsTorch, OptionVariantsKeyByKeyInOrder) {
  for (const auto& [what, config] : option_variants()) {
    torch::NoGradGuard no_grad;
    EXPECT_EQ(unet_state_shapes(config), torch_state_shapes(UNetModel(config))) << what;
  }
}

TEST(UNetStateShapesVsTorch, ReferenceKeyNames) {
  // Names as guided_diffusion's UNetModel.state_dict() spells them.
  const StateShapes s = unet_state_shapes(small(32));
  const auto shape_of = [&](const std::string& key) {
    for (const auto& [name, shape] : s)
      if (name == key) return shape;
    ADD_FAILURE() << "no key " << key;
    return std::vector<int64_t>{};
  };
  EXPECT_EQ(s.front().first, "time_embed.0.weight");
  EXPECT_EQ(shape_of("time_embed.0.weight"), (std::vector<int64_t>{128, 32}));
  EXPECT_EQ(shape_of("input_blocks.0.0.weight"), (std::vector<int64_t>{32, 3, 3, 3}));
  EXPECT_EQ(shape_of("input_blocks.1.0.emb_layers.1.weight"), (std::vector<int64_t>{64, 128}));  // scale and shift
  EXPECT_EQ(shape_of("middle_block.1.qkv.weight"), (std::vector<int64_t>{192, 64, 1}));          // 64 ch in the middle
  EXPECT_EQ(shape_of("input_blocks.2.0.op.weight"), (std::vector<int64_t>{32, 32, 3, 3}));       // Downsample
  EXPECT_EQ(s.back().first, "out.2.bias");
  EXPECT_EQ(s.back().second, (std::vector<int64_t>{3}));
}

TEST(UNetStateShapesVsTorch, HalfTorsoKeepsKeysAndShapes) {
  // convert_to_fp16 changes dtypes only; bf16 is the half type LibTorch's CPU convolutions take.
  torch::NoGradGuard no_grad;
  UNetConfig c = small(32);
  c.num_classes = 10, c.use_fp16 = true, c.precision = "bf16";
  UNetModel model(c);
  model->convert_torso(torch::kBFloat16);
  EXPECT_EQ(unet_state_shapes(c), torch_state_shapes(model));
}
