#include "base/nn/unet_state_shapes.h"

#include <algorithm>

namespace repro::core {

namespace {

// Appends the state dict of each building block of core/nn/ under `prefix`, as LibTorch names and
// orders it: a module's own parameters, then its children's in registration order.
class StateWalk {
 public:
  explicit StateWalk(StateShapes& out) : out_(out) {}

  void group_norm(const std::string& p, int64_t ch) {  // GroupNorm32: affine weight and bias
    add(p + ".weight", {ch});
    add(p + ".bias", {ch});
  }
  void conv3x3(const std::string& p, int64_t in, int64_t out) { conv(p, {out, in, 3, 3}); }
  void conv1x1(const std::string& p, int64_t in, int64_t out) { conv(p, {out, in, 1, 1}); }
  void conv1d(const std::string& p, int64_t in, int64_t out) { conv(p, {out, in, 1}); }
  void linear(const std::string& p, int64_t in, int64_t out) { conv(p, {out, in}); }
  void embedding(const std::string& p, int64_t n, int64_t dim) { add(p + ".weight", {n, dim}); }

  // ResBlock (core/nn/res_block.cpp): in_layers = [GN, SiLU, conv], emb_layers = [SiLU, Linear],
  // out_layers = [GN, SiLU, Dropout, conv], skip_connection when the width changes; the
  // resampling inside an up/down block (h_upd, x_upd) has no parameters.
  void res_block(const std::string& p, int64_t ch, int64_t out, int64_t emb, bool scale_shift) {
    group_norm(p + ".in_layers.0", ch);
    conv3x3(p + ".in_layers.2", ch, out);
    linear(p + ".emb_layers.1", emb, scale_shift ? 2 * out : out);
    group_norm(p + ".out_layers.0", out);
    conv3x3(p + ".out_layers.3", out, out);
    if (out != ch) conv1x1(p + ".skip_connection", ch, out);
  }

  // AttentionBlock (core/nn/attention.cpp): norm, qkv (1x1 Conv1d to 3 ch), proj_out.
  void attention(const std::string& p, int64_t ch) {
    group_norm(p + ".norm", ch);
    conv1d(p + ".qkv", ch, 3 * ch);
    conv1d(p + ".proj_out", ch, ch);
  }

 private:
  void add(std::string name, std::vector<int64_t> shape) { out_.emplace_back(std::move(name), std::move(shape)); }
  void conv(const std::string& p, std::vector<int64_t> weight) {
    const int64_t out = weight.front();
    add(p + ".weight", std::move(weight));
    add(p + ".bias", {out});
  }

  StateShapes& out_;
};

std::string key(const std::string& blocks, size_t index, size_t layer) {
  return blocks + "." + std::to_string(index) + "." + std::to_string(layer);
}

}  // namespace

StateShapes unet_state_shapes(const UNetConfig& c) {
  c.validate();
  const std::vector<double> mult = c.resolved_channel_mult();
  const std::vector<int> attention_ds = c.attention_ds();
  const auto has_attention = [&](int ds) {
    return std::find(attention_ds.begin(), attention_ds.end(), ds) != attention_ds.end();
  };
  const int64_t mc = c.num_channels;
  const int64_t emb = 4 * mc;
  const auto width = [&](size_t level) { return static_cast<int64_t>(mult[level] * static_cast<double>(mc)); };
  const bool ss = c.use_scale_shift_norm;
  StateShapes out;
  StateWalk walk(out);
  // A Downsample/Upsample between levels: a ResBlock with resblock_updown, else a 3x3 conv ("op"
  // down, "conv" up) with conv_resample, else nothing (pooling, nearest upsampling).
  const auto resample = [&](const std::string& p, int64_t ch, const char* conv_name) {
    if (c.resblock_updown) walk.res_block(p, ch, ch, emb, ss);
    if (!c.resblock_updown && c.conv_resample) walk.conv3x3(p + "." + conv_name, ch, ch);
  };

  walk.linear("time_embed.0", mc, emb);
  walk.linear("time_embed.2", emb, emb);
  if (c.num_classes > 0) walk.embedding("label_emb", c.num_classes, emb);
  int64_t ch = width(0);
  walk.conv3x3("input_blocks.0.0", c.in_channels, ch);
  std::vector<int64_t> skip_chans = {ch};
  int ds = 1;
  const size_t levels = mult.size();
  for (size_t level = 0; level < levels; ++level) {
    for (int i = 0; i < c.num_res_blocks; ++i) {
      walk.res_block(key("input_blocks", skip_chans.size(), 0), ch, width(level), emb, ss);
      ch = width(level);
      if (has_attention(ds)) walk.attention(key("input_blocks", skip_chans.size(), 1), ch);
      skip_chans.push_back(ch);
    }
    if (level + 1 != levels) {
      resample(key("input_blocks", skip_chans.size(), 0), ch, "op");
      skip_chans.push_back(ch);
      ds *= 2;
    }
  }
  walk.res_block("middle_block.0", ch, ch, emb, ss);
  walk.attention("middle_block.1", ch);
  walk.res_block("middle_block.2", ch, ch, emb, ss);
  size_t block = 0;
  for (size_t level = levels; level-- > 0;) {
    for (int i = 0; i <= c.num_res_blocks; ++i, ++block) {
      walk.res_block(key("output_blocks", block, 0), ch + skip_chans.back(), width(level), emb, ss);
      skip_chans.pop_back();
      ch = width(level);
      size_t layer = 1;
      if (has_attention(ds)) walk.attention(key("output_blocks", block, layer++), ch);
      if (level > 0 && i == c.num_res_blocks) {
        resample(key("output_blocks", block, layer), ch, "conv");
        ds /= 2;
      }
    }
  }
  walk.group_norm("out.0", ch);
  walk.conv3x3("out.2", width(0), c.out_channels());
  return out;
}

}  // namespace repro::core
