#include "base/nn/unet_config.h"

#include <algorithm>
#include <sstream>

#include "base/util/errors.h"
#include "base/util/strings.h"

namespace repro::core {

namespace {
// "1,2,2,2": the numbers as operator<< writes them (doubles with 6 significant digits).
template <typename T>
std::string number_list(const std::vector<T>& v) {
  return join(v, ",", [](T x) {
    std::ostringstream s;
    s << x;
    return s.str();
  });
}
}  // namespace

std::vector<double> UNetConfig::resolved_channel_mult() const {
  if (!channel_mult.empty()) return channel_mult;
  // script_util.create_model defaults; 32 was added by DDPM-IP.
  switch (image_size) {
    case 512:
      return {0.5, 1, 1, 2, 2, 4, 4};
    case 256:
      return {1, 1, 2, 2, 4, 4};
    case 128:
      return {1, 1, 2, 3, 4};
    case 64:
      return {1, 2, 3, 4};
    case 32:
      return {1, 2, 2, 2};
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

namespace {
[[noreturn]] void fail(const std::string& where, const std::string& key, const std::string& what) {
  throw ConfigError(where, "model." + key, what);
}

bool has_attention_at(const UNetConfig& c, int resolution) {
  const auto& rs = c.attention_resolutions;
  return std::find(rs.begin(), rs.end(), resolution) != rs.end();
}

void validate_scalars(const UNetConfig& c, const std::string& where) {
  if (c.image_size <= 0) fail(where, "image_size", "expected a positive size, got " + std::to_string(c.image_size));
  if (c.in_channels <= 0) fail(where, "in_channels", "expected > 0, got " + std::to_string(c.in_channels));
  if (c.num_channels <= 0) fail(where, "num_channels", "expected > 0, got " + std::to_string(c.num_channels));
  if (c.num_res_blocks < 1) fail(where, "num_res_blocks", "expected >= 1, got " + std::to_string(c.num_res_blocks));
  if (c.dropout < 0.0 || c.dropout >= 1.0)
    fail(where, "dropout", "expected 0 <= dropout < 1, got " + std::to_string(c.dropout));
  if (c.num_classes < 0) fail(where, "num_classes", "expected >= 0, got " + std::to_string(c.num_classes));
  if (c.num_head_channels == -1 && c.num_heads < 1)
    fail(where, "num_heads", "expected >= 1 when num_head_channels is -1, got " + std::to_string(c.num_heads));
  if (c.num_head_channels == 0 || c.num_head_channels < -1)
    fail(where, "num_head_channels",
         "expected a positive channel count or -1, got " + std::to_string(c.num_head_channels));
  if (c.num_heads_upsample == 0 || c.num_heads_upsample < -1)
    fail(where, "num_heads_upsample",
         "expected a positive head count or -1 (= num_heads), got " + std::to_string(c.num_heads_upsample));
  if (c.precision != "fp16" && c.precision != "bf16")
    fail(where, "precision", "expected one of fp16, bf16, got '" + c.precision + "'");
}

// Every level must have a whole channel count that GroupNorm(32) accepts, and image_size must
// halve cleanly once per level below the top.
void validate_channel_mult(const UNetConfig& c, const std::string& where, const std::vector<double>& mult) {
  const int levels = static_cast<int>(mult.size());
  for (size_t i = 0; i < mult.size(); ++i) {
    double ch = mult[i] * c.num_channels;
    // Range first: converting a double past int's range (a multiplier of 1e58) is undefined.
    if (!(mult[i] > 0) || !(ch <= 65536) || ch != static_cast<int>(ch))
      fail(where, "channel_mult",
           "entry " + std::to_string(i) + " = " + std::to_string(mult[i]) +
               " does not give a whole channel count with num_channels " + std::to_string(c.num_channels));
    if (static_cast<int>(ch) % 32 != 0)
      fail(where, "channel_mult",
           "level " + std::to_string(i) + " has " + std::to_string(static_cast<int>(ch)) +
               " channels; GroupNorm(32) needs a multiple of 32");
  }
  if (c.image_size % (1 << (levels - 1)) != 0)
    fail(where, "image_size",
         std::to_string(c.image_size) + " is not divisible by 2^" + std::to_string(levels - 1) + " (the " +
             std::to_string(levels) + " levels of channel_mult [" + number_list(mult) + "])");
}

// Resolutions that occur: image_size / 2^level for level < levels.
void validate_attention_resolutions(const UNetConfig& c, const std::string& where, int levels) {
  std::vector<int> occurring;
  occurring.reserve(static_cast<size_t>(levels));
  for (int l = 0; l < levels; ++l) occurring.push_back(c.image_size >> l);
  for (int r : c.attention_resolutions) {
    if (std::find(occurring.begin(), occurring.end(), r) == occurring.end())
      fail(where, "attention_resolutions",
           "resolution " + std::to_string(r) + " never occurs; the UNet runs at [" + number_list(occurring) +
               "] for image_size " + std::to_string(c.image_size));
  }
}

void check_heads_divide(const UNetConfig& c, const std::string& where, int ch, const std::string& at) {
  if (c.num_head_channels != -1) {
    if (ch % c.num_head_channels != 0)
      fail(where, "num_head_channels",
           std::to_string(c.num_head_channels) + " does not divide the " + std::to_string(ch) +
               " channels of the attention at " + at);
  } else {
    int heads = c.num_heads;
    if (ch % heads != 0)
      fail(where, "num_heads",
           std::to_string(heads) + " heads do not divide the " + std::to_string(ch) + " channels of the attention at " +
               at);
  }
}

// Heads must divide every attention width (and the middle block's).
void validate_heads(const UNetConfig& c, const std::string& where, const std::vector<double>& mult) {
  const int levels = static_cast<int>(mult.size());
  for (int l = 0; l < levels; ++l) {
    int r = c.image_size >> l;
    if (has_attention_at(c, r))
      check_heads_divide(c, where, static_cast<int>(mult[l] * c.num_channels), std::to_string(r) + "px");
  }
  check_heads_divide(c, where, static_cast<int>(mult.back() * c.num_channels), "the middle block");
  if (c.num_head_channels == -1 && c.num_heads_upsample != -1) {
    for (int l = 0; l < levels; ++l) {
      int r = c.image_size >> l;
      int ch = static_cast<int>(mult[l] * c.num_channels);
      if (has_attention_at(c, r) && ch % c.num_heads_upsample != 0)
        fail(where, "num_heads_upsample",
             std::to_string(c.num_heads_upsample) + " heads do not divide " + std::to_string(ch));
    }
  }
}
}  // namespace

void UNetConfig::validate(const std::string& where) const {
  validate_scalars(*this, where);
  const std::vector<double> mult = resolved_channel_mult();
  validate_channel_mult(*this, where, mult);
  validate_attention_resolutions(*this, where, static_cast<int>(mult.size()));
  validate_heads(*this, where, mult);
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
    << "channel_mult: [" << number_list(c.resolved_channel_mult()) << "]"
    << (c.channel_mult.empty() ? " (default)" : "") << "\n"
    << "num_res_blocks: " << c.num_res_blocks << "\n"
    << "attention_resolutions: [" << number_list(c.attention_resolutions) << "]\n"
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
