#pragma once
// UNetConfig: every option of the reference UNetModel (guided_diffusion/unet.py, script_util.py)
// that the paper uses. Plain and torch-free: the YAML reader, the runner and the network all
// share it. Field names are the reference's command-line flag names.
#include <string>
#include <vector>

namespace repro::core {

enum class Precision { kFloat32, kFloat16, kBFloat16 };

struct UNetConfig {
  int image_size = 64;                               // input resolution (square); picks the channel_mult default
  int in_channels = 3;                               // image channels
  int num_channels = 128;                            // model_channels: width of the first level
  int num_res_blocks = 2;                            // ResBlocks per level on the way down (up: +1)
  std::vector<int> attention_resolutions = {16, 8};  // image resolutions (px) with attention
  double dropout = 0.0;                              // in every ResBlock's out_layers
  std::vector<double> channel_mult;                  // empty = the reference default for image_size
  int num_heads = 4;                                 // used when num_head_channels == -1
  int num_head_channels = -1;                        // channels per head; -1 = fixed num_heads
  int num_heads_upsample = -1;                       // -1 = num_heads (reference quirk, kept)
  bool use_scale_shift_norm = true;                  // FiLM-style (1+scale)*GN(h)+shift conditioning
  bool resblock_updown = false;                      // ResBlocks resample (else conv/avg-pool Downsample, Upsample)
  bool use_new_attention_order = false;              // split q,k,v before heads (QKVAttention) vs legacy
  bool learn_sigma = false;                          // output 6 channels: eps and the variance interpolation v
  int num_classes = 0;                               // > 0: class-conditional (label_emb); 0 = unconditional
  bool conv_resample = true;                         // Upsample/Downsample use a conv (only without resblock_updown)
  bool use_fp16 = false;                             // torso in half precision on CUDA (convert_to_fp16)
  std::string precision = "fp16";                    // half type when use_fp16: "fp16" or "bf16"

  int out_channels() const { return learn_sigma ? 2 * in_channels : in_channels; }

  // channel_mult or, when empty, the reference default for image_size (script_util.py).
  // Throws ConfigError for sizes without a default.
  std::vector<double> resolved_channel_mult() const;

  // Downsampling factors ds = image_size / r with attention.
  std::vector<int> attention_ds() const;

  // Checks every constraint the reference would trip over later (heads dividing channels,
  // attention at a resolution that never occurs, ...). Throws ConfigError naming the key;
  // `where` prefixes the message (a file name).
  void validate(const std::string& where = "") const;

  // The reference's preset for the paper's three model sizes: 32, 64, 128 (paper-spec Table 9).
  static UNetConfig paper_preset(int image_size);
};

// One line per constructor argument, for `repro model info` and provenance.
std::string describe(const UNetConfig& c);

}  // namespace repro::core
