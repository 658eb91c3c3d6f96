#include "core/nn/unet_config.h"

#include <algorithm>
#include <sstream>

#include "core/util/errors.h"

namespace repro::core {

namespace {
std::string join(const std::vector<int>& v) {
  std::ostringstream s;
  for (size_t i = 0; i < v.size(); ++i) s << (i ? "," : "") << v[i];
  return s.str();
}
std::string join(const std::vector<double>& v) {
  std::ostringstream s;
  for (size_t i = 0; i < v.size(); ++i) s << (i ? "," : "") << v[i];
  return s.str();
}
}  // namespace

std::vector<double> UNetConfig::resolved_channel_mult() const {
  if (!channel_mult.empty()) return channel_mult;
  // script_util.create_model defaults; 32 was added by DDPM-IP.
  switch (image_size) {
    case 512: return {0.5, 1, 1, 2, 2, 4, 4};
    case 256: return {1, 1, 2, 2, 4, 4};
    case 128: return {1, 1, 2, 3, 4};
    case 64: return {1, 2, 3, 4};
    case 32: return {1, 2, 2, 2};
    default:
      throw ConfigError("", "model.channel_mult",
                        "no default for image_size " + std::to_string(image_size) +
                            " (defaults exist for 32, 64, 128, 256, 512); set channel_mult");
  }
}

std::vector<int> UNetConfig::attention_ds() const {
  std::vector<int> ds;
  for (int r : attention_resolutions) ds.push_back(image_size / r);
  return ds;
}

void UNetConfig::validate(const std::string& where) const {
  auto fail = [&](const std::string& key, const std::string& what) {
    throw ConfigError(where, "model." + key, what);
  };
  if (image_size <= 0) fail("image_size", "expected a positive size, got " + std::to_string(image_size));
  if (in_channels <= 0) fail("in_channels", "expected > 0, got " + std::to_string(in_channels));
  if (num_channels <= 0) fail("num_channels", "expected > 0, got " + std::to_string(num_channels));
  if (num_res_blocks < 1) fail("num_res_blocks", "expected >= 1, got " + std::to_string(num_res_blocks));
  if (dropout < 0.0 || dropout >= 1.0) fail("dropout", "expected 0 <= dropout < 1, got " + std::to_string(dropout));
  if (num_classes < 0) fail("num_classes", "expected >= 0, got " + std::to_string(num_classes));
  if (num_head_channels == -1 && num_heads < 1)
    fail("num_heads", "expected >= 1 when num_head_channels is -1, got " + std::to_string(num_heads));
  if (num_head_channels == 0 || num_head_channels < -1)
    fail("num_head_channels", "expected a positive channel count or -1, got " + std::to_string(num_head_channels));
  if (num_heads_upsample == 0 || num_heads_upsample < -1)
    fail("num_heads_upsample", "expected a positive head count or -1 (= num_heads), got " +
                                   std::to_string(num_heads_upsample));
  if (precision != "fp16" && precision != "bf16")
    fail("precision", "expected one of fp16, bf16, got '" + precision + "'");

  const std::vector<double> mult = resolved_channel_mult();
  const int levels = static_cast<int>(mult.size());
  for (size_t i = 0; i < mult.size(); ++i) {
    double ch = mult[i] * num_channels;
    // Range first: converting a double past int's range (a multiplier of 1e58) is undefined.
    if (!(mult[i] > 0) || !(ch <= 65536) || ch != static_cast<int>(ch))
      fail("channel_mult", "entry " + std::to_string(i) + " = " + std::to_string(mult[i]) +
                               " does not give a whole channel count with num_channels " +
                               std::to_string(num_channels));
    if (static_cast<int>(ch) % 32 != 0)
      fail("channel_mult", "level " + std::to_string(i) + " has " + std::to_string(static_cast<int>(ch)) +
                               " channels; GroupNorm(32) needs a multiple of 32");
  }
  if (image_size % (1 << (levels - 1)) != 0)
    fail("image_size", std::to_string(image_size) + " is not divisible by 2^" + std::to_string(levels - 1) +
                           " (the " + std::to_string(levels) + " levels of channel_mult [" + join(mult) + "])");

  // Resolutions that occur: image_size / 2^level for level < levels.
  std::vector<int> occurring;
  for (int l = 0; l < levels; ++l) occurring.push_back(image_size >> l);
  for (int r : attention_resolutions) {
    if (std::find(occurring.begin(), occurring.end(), r) == occurring.end())
      fail("attention_resolutions", "resolution " + std::to_string(r) + " never occurs; the UNet runs at [" +
                                        join(occurring) + "] for image_size " + std::to_string(image_size));
  }

  // Heads must divide every attention width (and the middle block's).
  auto check_heads = [&](int ch, const std::string& at) {
    if (num_head_channels != -1) {
      if (ch % num_head_channels != 0)
        fail("num_head_channels", std::to_string(num_head_channels) + " does not divide the " + std::to_string(ch) +
                                      " channels of the attention at " + at);
    } else {
      int heads = num_heads;
      if (ch % heads != 0)
        fail("num_heads", std::to_string(heads) + " heads do not divide the " + std::to_string(ch) +
                              " channels of the attention at " + at);
    }
  };
  for (int l = 0; l < levels; ++l) {
    int r = image_size >> l;
    if (std::find(attention_resolutions.begin(), attention_resolutions.end(), r) != attention_resolutions.end())
      check_heads(static_cast<int>(mult[l] * num_channels), std::to_string(r) + "px");
  }
  check_heads(static_cast<int>(mult.back() * num_channels), "the middle block");
  if (num_head_channels == -1 && num_heads_upsample != -1) {
    for (int l = 0; l < levels; ++l) {
      int r = image_size >> l;
      int ch = static_cast<int>(mult[l] * num_channels);
      if (std::find(attention_resolutions.begin(), attention_resolutions.end(), r) != attention_resolutions.end() &&
          ch % num_heads_upsample != 0)
        fail("num_heads_upsample", std::to_string(num_heads_upsample) + " heads do not divide " + std::to_string(ch));
    }
  }
}

UNetConfig UNetConfig::paper_preset(int image_size) {
  UNetConfig c;
  c.image_size = image_size;
  c.num_res_blocks = 3;
  c.learn_sigma = true;
  c.use_scale_shift_norm = true;
  c.resblock_updown = true;
  c.use_new_attention_order = true;
  c.use_fp16 = true;
  switch (image_size) {
    case 32:
      c.num_channels = 128, c.num_head_channels = 32, c.attention_resolutions = {16, 8}, c.dropout = 0.3;
      break;
    case 64:
      c.num_channels = 192, c.num_head_channels = 64, c.attention_resolutions = {32, 16, 8}, c.dropout = 0.1;
      break;
    case 128:
      c.num_channels = 256, c.num_head_channels = 64, c.attention_resolutions = {32, 16, 8}, c.dropout = 0.1;
      break;
    default:
      throw ConfigError("", "model.image_size", "the paper uses 32, 64 and 128; got " + std::to_string(image_size));
  }
  return c;
}

std::string describe(const UNetConfig& c) {
  std::ostringstream s;
  s << "image_size: " << c.image_size << "\n"
    << "in_channels: " << c.in_channels << "\n"
    << "out_channels: " << c.out_channels() << (c.learn_sigma ? " (eps + v, learn_sigma)" : " (eps)") << "\n"
    << "num_channels: " << c.num_channels << "\n"
    << "channel_mult: [" << join(c.resolved_channel_mult()) << "]" << (c.channel_mult.empty() ? " (default)" : "") << "\n"
    << "num_res_blocks: " << c.num_res_blocks << "\n"
    << "attention_resolutions: [" << join(c.attention_resolutions) << "]\n"
    << "num_heads: " << c.num_heads << ", num_head_channels: " << c.num_head_channels
    << ", num_heads_upsample: " << c.num_heads_upsample << "\n"
    << "dropout: " << c.dropout << "\n"
    << "use_scale_shift_norm: " << std::boolalpha << c.use_scale_shift_norm << "\n"
    << "resblock_updown: " << c.resblock_updown << "\n"
    << "use_new_attention_order: " << c.use_new_attention_order << "\n"
    << "conv_resample: " << c.conv_resample << "\n"
    << "num_classes: " << c.num_classes << "\n"
    << "use_fp16: " << c.use_fp16 << (c.use_fp16 ? " (" + c.precision + " on CUDA; float32 on CPU)" : "") << "\n";
  return s.str();
}

}  // namespace repro::core
