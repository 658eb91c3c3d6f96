#include "base/nn/unet_param_count.h"

#include <algorithm>
#include <vector>

namespace repro::core {

namespace {

int64_t group_norm(int64_t ch) { return 2 * ch; }  // weight + bias
int64_t conv(int64_t in, int64_t out, int64_t kernel_area) { return in * out * kernel_area + out; }
int64_t linear(int64_t in, int64_t out) { return in * out + out; }

// ResBlock (core/nn/res_block.cpp): in_layers, emb_layers, out_layers, skip_connection when the
// width changes; the resampling inside an up/down block has no conv.
int64_t res_block(int64_t ch, int64_t out, int64_t emb, bool scale_shift) {
  int64_t n = group_norm(ch) + conv(ch, out, 9);
  n += linear(emb, scale_shift ? 2 * out : out);
  n += group_norm(out) + conv(out, out, 9);
  if (out != ch) n += conv(ch, out, 1);
  return n;
}

// AttentionBlock (core/nn/attention.cpp): norm, qkv (1x1 conv to 3 ch), proj_out.
int64_t attention(int64_t ch) { return group_norm(ch) + conv(ch, 3 * ch, 1) + conv(ch, ch, 1); }

// A Downsample/Upsample between levels: a ResBlock with resblock_updown, else a 3x3 conv with
// conv_resample, else nothing (pooling, nearest upsampling).
int64_t resample(const UNetConfig& c, int64_t ch, int64_t emb) {
  if (c.resblock_updown) return res_block(ch, ch, emb, c.use_scale_shift_norm);
  return c.conv_resample ? conv(ch, ch, 9) : 0;
}

}  // namespace

int64_t unet_parameter_count(const UNetConfig& c) {
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

  int64_t n = linear(mc, emb) + linear(emb, emb);  // time_embed
  if (c.num_classes > 0) n += static_cast<int64_t>(c.num_classes) * emb;
  int64_t ch = width(0);
  n += conv(c.in_channels, ch, 9);  // input_blocks.0
  std::vector<int64_t> skip_chans = {ch};
  int ds = 1;
  const size_t levels = mult.size();
  for (size_t level = 0; level < levels; ++level) {
    for (int i = 0; i < c.num_res_blocks; ++i) {
      n += res_block(ch, width(level), emb, ss);
      ch = width(level);
      if (has_attention(ds)) n += attention(ch);
      skip_chans.push_back(ch);
    }
    if (level + 1 != levels) {
      n += resample(c, ch, emb);
      skip_chans.push_back(ch);
      ds *= 2;
    }
  }
  n += 2 * res_block(ch, ch, emb, ss) + attention(ch);  // middle_block
  for (size_t level = levels; level-- > 0;) {
    for (int i = 0; i <= c.num_res_blocks; ++i) {
      n += res_block(ch + skip_chans.back(), width(level), emb, ss);
      skip_chans.pop_back();
      ch = width(level);
      if (has_attention(ds)) n += attention(ch);
      if (level > 0 && i == c.num_res_blocks) {
        n += resample(c, ch, emb);
        ds /= 2;
      }
    }
  }
  return n + group_norm(ch) + conv(width(0), c.out_channels(), 9);  // out
}

}  // namespace repro::core
