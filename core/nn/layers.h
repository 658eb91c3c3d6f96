#pragma once
// Small building blocks of the ADM UNet (guided_diffusion/nn.py, unet.py) under the reference's
// submodule names, so that state-dict keys match the Python checkpoints.
#include <torch/torch.h>

#include <functional>
#include <string>
#include <vector>

namespace repro::core {

// GroupNorm32: GroupNorm(32, C, eps 1e-5) evaluated in float32 and cast back to x's dtype, so an
// fp16 torso normalises in full precision (nn.py GroupNorm32).
torch::nn::GroupNorm normalization(int64_t channels);
torch::Tensor group_norm32(const torch::nn::GroupNorm& norm, const torch::Tensor& x);

// SiLU(group_norm32(x)): the [GN, SiLU] head of in_layers, out_layers and out. With autograd off
// the SiLU runs in place on the fresh GroupNorm output (one buffer less per call).
torch::Tensor group_norm_silu(const torch::nn::GroupNorm& norm, const torch::Tensor& x);

// SiLU(group_norm32(x) * (1 + scale) + shift), scale and shift [N, C, 1, 1] (ResBlock's
// use_scale_shift_norm), as one GroupNorm whose per-(sample, channel) affine absorbs the scale and
// shift: the group statistics are the same, only the float rounding of the affine differs.
// Computed in float32, returned in x's dtype.
torch::Tensor group_norm_scale_shift_silu(const torch::nn::GroupNorm& norm, const torch::Tensor& x,
                                          const torch::Tensor& scale, const torch::Tensor& shift);

// true where nothing records gradients (NoGradGuard, InferenceMode): in-place ops are then safe on
// tensors the forward has just made.
inline bool inference_only() { return !torch::GradMode::is_enabled(); }

torch::nn::Conv2d conv3x3(int64_t in, int64_t out, int64_t stride = 1);
torch::nn::Conv2d conv1x1(int64_t in, int64_t out);

// zero_module: weights and biases set to 0 (output convs of ResBlock, AttentionBlock and UNet).
void zero_module(torch::nn::Module& module);

// Nearest-neighbour x2 upsampling, then a 3x3 conv (key "conv") if use_conv.
class UpsampleImpl : public torch::nn::Module {
 public:
  UpsampleImpl(int64_t channels, bool use_conv, int64_t out_channels = -1);
  torch::Tensor forward(const torch::Tensor& x);  // [N, C, H, W] -> [N, C', 2H, 2W]

 private:
  bool use_conv_;
  torch::nn::Conv2d conv_{nullptr};
};
TORCH_MODULE(Upsample);

// x2 downsampling: stride-2 3x3 conv (key "op") if use_conv, else 2x2 average pooling.
class DownsampleImpl : public torch::nn::Module {
 public:
  DownsampleImpl(int64_t channels, bool use_conv, int64_t out_channels = -1);
  torch::Tensor forward(const torch::Tensor& x);  // [N, C, H, W] -> [N, C', H/2, W/2]

 private:
  bool use_conv_;
  torch::nn::Conv2d op_{nullptr};
};
TORCH_MODULE(Downsample);

// TimestepEmbedSequential: children named "0", "1", ...; each is called with (x, emb) if it
// takes the timestep embedding (ResBlock), else with x alone.
class TimestepEmbedSequentialImpl : public torch::nn::Module {
 public:
  using Call = std::function<torch::Tensor(const torch::Tensor& x, const torch::Tensor& emb)>;
  template <typename M>
  void push_back(std::shared_ptr<M> module, Call call) {
    register_module(std::to_string(calls_.size()), module);
    calls_.push_back(std::move(call));
  }
  torch::Tensor forward(torch::Tensor x, const torch::Tensor& emb);
  size_t size() const { return calls_.size(); }

 private:
  std::vector<Call> calls_;
};
TORCH_MODULE(TimestepEmbedSequential);

}  // namespace repro::core
