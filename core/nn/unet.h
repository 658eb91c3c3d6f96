#pragma once
// UNetModel: the ADM network of guided_diffusion/unet.py, with the reference's state-dict keys
// (time_embed.*, input_blocks.k.j.*, middle_block.*, output_blocks.k.j.*, out.*).
#include <torch/torch.h>

#include "base/nn/unet_config.h"
#include "core/nn/layers.h"

namespace repro::core {

class UNetModelImpl : public torch::nn::Module {
 public:
  // Validates the config (ConfigError naming the key) and builds the network with the
  // reference's initialisation: PyTorch defaults, output convs zeroed.
  explicit UNetModelImpl(const UNetConfig& config);

  // x: [N, in_channels, H, W] float32; timesteps: [N] original (un-respaced) indices;
  // y: [N] int64 class labels iff num_classes > 0. Returns [N, out_channels, H, W] in x's dtype.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& timesteps,
                        const torch::Tensor& y = torch::Tensor());

  // convert_to_fp16 / convert_to_fp32: the conv weights of input_blocks, middle_block and
  // output_blocks in `dtype` (kHalf or kBFloat16); time MLP, GroupNorm and `out` stay float32.
  void convert_torso(torch::ScalarType dtype);
  torch::ScalarType torso_dtype() const { return torso_dtype_; }

  const UNetConfig& config() const { return config_; }

 private:
  UNetConfig config_;
  torch::ScalarType torso_dtype_ = torch::kFloat32;
  torch::nn::Sequential time_embed_{nullptr};
  torch::nn::Embedding label_emb_{nullptr};
  torch::nn::ModuleList input_blocks_{nullptr};
  std::vector<TimestepEmbedSequential> input_list_;
  TimestepEmbedSequential middle_block_{nullptr};
  torch::nn::ModuleList output_blocks_{nullptr};
  std::vector<TimestepEmbedSequential> output_list_;
  torch::nn::Sequential out_{nullptr};
  torch::nn::GroupNorm out_norm_{nullptr};
  torch::nn::Conv2d out_conv_{nullptr};
};
TORCH_MODULE(UNetModel);

int64_t parameter_count(const torch::nn::Module& module);

}  // namespace repro::core
