#pragma once
#include <torch/torch.h>

#include "core/nn/layers.h"

namespace repro::core {

struct ResBlockOptions {
  int64_t channels;      // input channels
  int64_t emb_channels;  // timestep embedding width (4 * num_channels)
  double dropout = 0.0;
  int64_t out_channels = -1;  // -1 = channels
  bool use_scale_shift_norm = false;
  bool up = false;    // nearest x2 inside the block (resblock_updown)
  bool down = false;  // avg-pool /2 inside the block (resblock_updown)
};

// ResBlock (unet.py): in_layers = [GN, SiLU, conv3x3], emb_layers = [SiLU, Linear],
// out_layers = [GN, SiLU, Dropout, zero conv3x3], skip_connection = Identity or 1x1 conv.
class ResBlockImpl : public torch::nn::Module {
 public:
  explicit ResBlockImpl(const ResBlockOptions& options);
  // x: [N, C, H, W] (float32 or the torso's half type); emb: [N, emb_channels] float32.
  // Returns [N, out_channels, H', W'] in x's dtype.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& emb);

 private:
  ResBlockOptions options_;
  int64_t out_channels_;
  torch::nn::Sequential in_layers_{nullptr}, emb_layers_{nullptr}, out_layers_{nullptr};
  torch::nn::GroupNorm in_norm_{nullptr}, out_norm_{nullptr};
  torch::nn::Conv2d in_conv_{nullptr}, out_conv_{nullptr};
  torch::nn::Linear emb_linear_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
  torch::nn::Conv2d skip_connection_{nullptr};  // null = identity
  Upsample h_up_{nullptr}, x_up_{nullptr};
  Downsample h_down_{nullptr}, x_down_{nullptr};
};
TORCH_MODULE(ResBlock);

}  // namespace repro::core
