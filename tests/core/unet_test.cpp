// Truth: the parameter counts of the reference constructor (paper-spec §4.6, confirmed by the
// Python replica), the reference's key names and shapes (§4.5), the closed form of the timestep
// embedding, and zero-initialised output layers.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "base/util/errors.h"
#include "core/nn/attention.h"
#include "core/nn/timestep_embedding.h"
#include "core/nn/unet.h"
#include "core/util/checkpoint.h"

using namespace repro::core;

namespace {

UNetConfig small_config(int image_size) {
  UNetConfig c;
  c.image_size = image_size;
  c.num_channels = 32;
  c.channel_mult = image_size == 128 ? std::vector<double>{1, 1, 2, 2, 2} : std::vector<double>{1, 2, 2, 2};
  c.num_res_blocks = 1;
  c.attention_resolutions = {16, 8};
  c.num_head_channels = 32;
  c.learn_sigma = true;
  c.resblock_updown = true;
  c.use_new_attention_order = true;
  return c;
}

std::map<std::string, std::vector<int64_t>> shapes_of(const torch::nn::Module& m) {
  std::map<std::string, std::vector<int64_t>> out;
  for (const auto& [name, t] : module_state(m)) out[name] = t.sizes().vec();
  return out;
}

}  // namespace

TEST(UNet, PaperModelParameterCounts) {
  torch::NoGradGuard no_grad;
  const std::pair<int, int64_t> expected[] = {{32, 57094662}, {64, 295136454}, {128, 542811398}};
  for (const auto& [size, count] : expected) {
    UNetModel model(UNetConfig::paper_preset(size));
    EXPECT_EQ(parameter_count(*model), count) << size << "px";
  }
}

TEST(UNet, ReferenceKeyNamesAndShapes32) {
  UNetModel model(UNetConfig::paper_preset(32));
  auto shapes = shapes_of(*model);
  using V = std::vector<int64_t>;
  EXPECT_EQ(shapes.at("time_embed.0.weight"), (V{512, 128}));
  EXPECT_EQ(shapes.at("time_embed.2.weight"), (V{512, 512}));
  EXPECT_EQ(shapes.at("input_blocks.0.0.weight"), (V{128, 3, 3, 3}));
  EXPECT_EQ(shapes.at("input_blocks.1.0.in_layers.0.weight"), (V{128}));
  EXPECT_EQ(shapes.at("input_blocks.1.0.in_layers.2.weight"), (V{128, 128, 3, 3}));
  EXPECT_EQ(shapes.at("input_blocks.1.0.emb_layers.1.weight"), (V{256, 512}));  // scale + shift
  EXPECT_EQ(shapes.at("input_blocks.1.0.out_layers.3.weight"), (V{128, 128, 3, 3}));
  EXPECT_EQ(shapes.at("input_blocks.5.0.skip_connection.weight"), (V{256, 128, 1, 1}));
  EXPECT_EQ(shapes.at("input_blocks.5.1.qkv.weight"), (V{768, 256, 1}));
  EXPECT_EQ(shapes.at("input_blocks.5.1.proj_out.weight"), (V{256, 256, 1}));
  EXPECT_EQ(shapes.at("middle_block.1.qkv.weight"), (V{768, 256, 1}));
  EXPECT_EQ(shapes.at("middle_block.2.out_layers.3.bias"), (V{256}));
  EXPECT_EQ(shapes.at("output_blocks.0.0.in_layers.0.weight"), (V{512}));
  EXPECT_EQ(shapes.at("output_blocks.3.1.in_layers.2.weight"), (V{256, 256, 3, 3}));  // up ResBlock at .1
  EXPECT_EQ(shapes.at("output_blocks.7.2.in_layers.2.weight"), (V{256, 256, 3, 3}));  // up at .2 after attention
  EXPECT_EQ(shapes.at("output_blocks.11.0.in_layers.0.weight"), (V{384}));
  EXPECT_EQ(shapes.at("output_blocks.15.0.skip_connection.weight"), (V{128, 256, 1, 1}));
  EXPECT_EQ(shapes.at("out.0.weight"), (V{128}));
  EXPECT_EQ(shapes.at("out.2.weight"), (V{6, 128, 3, 3}));
  EXPECT_EQ(shapes.at("out.2.bias"), (V{6}));
  EXPECT_EQ(shapes.count("input_blocks.16.0.in_layers.0.weight"), 0u);
  EXPECT_EQ(shapes.count("output_blocks.16.0.in_layers.0.weight"), 0u);
  EXPECT_EQ(shapes.count("input_blocks.4.0.h_upd.op.weight"), 0u);  // resampling inside ResBlocks has no conv
}

TEST(UNet, ConvResampleKeysWithoutResblockUpdown) {
  auto c = small_config(32);
  c.resblock_updown = false;
  UNetModel model(c);
  auto shapes = shapes_of(*model);
  EXPECT_EQ(shapes.at("input_blocks.2.0.op.weight"), (std::vector<int64_t>{32, 32, 3, 3}));
  EXPECT_EQ(shapes.at("output_blocks.1.1.conv.weight").size(), 4u);
  c.conv_resample = false;
  UNetModel pooled(c);
  EXPECT_EQ(shapes_of(*pooled).count("input_blocks.2.0.op.weight"), 0u);
}

TEST(UNet, ShapesThroughTheNetwork) {
  torch::NoGradGuard no_grad;
  for (int size : {32, 64, 128}) {
    UNetModel model(small_config(size));
    auto x = torch::randn({2, 3, size, size});
    auto out = model->forward(x, torch::tensor({0, 999}, torch::kInt64));
    EXPECT_EQ(out.sizes(), (std::vector<int64_t>{2, 6, size, size})) << size;
  }
}

TEST(UNet, OutputLayersStartAtZero) {
  torch::NoGradGuard no_grad;
  UNetModel model(small_config(32));
  auto out = model->forward(torch::randn({2, 3, 32, 32}), torch::tensor({3, 500}, torch::kInt64));
  EXPECT_EQ(out.abs().max().item<float>(), 0.0f);  // zero_module on out.2
  auto state = module_state(*model);
  for (const auto& [name, t] : state) {
    if (name.find("out_layers.3") != std::string::npos || name.find("proj_out") != std::string::npos) {
      EXPECT_EQ(t.abs().max().item<float>(), 0.0f) << name;
    }
  }
}

TEST(UNet, SameSeedSameWeights) {
  torch::manual_seed(7);
  UNetModel a(small_config(32));
  torch::manual_seed(7);
  UNetModel b(small_config(32));
  auto sa = module_state(*a), sb = module_state(*b);
  ASSERT_EQ(sa.size(), sb.size());
  for (size_t i = 0; i < sa.size(); ++i) EXPECT_TRUE(torch::equal(sa[i].second, sb[i].second)) << sa[i].first;
}

TEST(UNet, ImpossibleConfigNamesTheKey) {
  auto c = small_config(32);
  c.num_head_channels = 24;
  try {
    UNetModel m(c);
    FAIL();
  } catch (const repro::ConfigError& e) {
    EXPECT_EQ(e.key_path(), "model.num_head_channels");
  }
}

TEST(TimestepEmbedding, CosFirstThenSin) {
  auto t = torch::tensor({0.0f, 1.0f, 250.0f});
  auto e = timestep_embedding(t, 8);
  ASSERT_EQ(e.sizes(), (std::vector<int64_t>{3, 8}));
  for (int r = 0; r < 3; ++r) {
    const double tv = t[r].item<float>();
    for (int i = 0; i < 4; ++i) {
      const double freq = std::exp(-std::log(10000.0) * i / 4);
      EXPECT_NEAR(e[r][i].item<float>(), std::cos(tv * freq), 2e-5) << r << "," << i;
      EXPECT_NEAR(e[r][4 + i].item<float>(), std::sin(tv * freq), 2e-5) << r << "," << i;
    }
  }
  auto odd = timestep_embedding(t, 7);
  EXPECT_EQ(odd.size(1), 7);
  EXPECT_EQ(odd.select(1, 6).abs().max().item<float>(), 0.0f);
}

TEST(Attention, NewOrderMatchesPerHeadSoftmax) {
  // Hand-computed attention for each head: softmax(q^T k / sqrt(c)) applied to v.
  torch::manual_seed(0);
  const int64_t heads = 2, c = 4, T = 5;
  auto qkv = torch::randn({1, 3 * heads * c, T});
  auto out = qkv_attention(qkv, heads);
  auto q = qkv.slice(1, 0, heads * c), k = qkv.slice(1, heads * c, 2 * heads * c), v = qkv.slice(1, 2 * heads * c);
  for (int64_t h = 0; h < heads; ++h) {
    auto qh = q[0].slice(0, h * c, (h + 1) * c), kh = k[0].slice(0, h * c, (h + 1) * c);
    auto vh = v[0].slice(0, h * c, (h + 1) * c);
    auto w = torch::softmax(torch::matmul(qh.t(), kh) / std::sqrt(double(c)), -1);  // [T, S]
    auto expect = torch::matmul(vh, w.t());
    EXPECT_TRUE(torch::allclose(out[0].slice(0, h * c, (h + 1) * c), expect, 1e-5, 1e-6)) << h;
  }
  // Legacy order: per-head interleaved [q_h, k_h, v_h] blocks give the same result after the
  // corresponding permutation of the qkv rows.
  std::vector<torch::Tensor> rows;
  for (int64_t h = 0; h < heads; ++h)
    for (auto part : {q, k, v}) rows.push_back(part.slice(1, h * c, (h + 1) * c));
  auto legacy = qkv_attention_legacy(torch::cat(rows, 1), heads);
  EXPECT_TRUE(torch::allclose(legacy, out, 1e-5, 1e-6));
}
