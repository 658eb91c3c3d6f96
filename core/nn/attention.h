#pragma once
#include <torch/torch.h>

namespace repro::core {

// QKVAttention ("new order"): qkv [N, 3*H*c, T] is split into q, k, v first, then into heads.
// Returns [N, H*c, T]. Scale 1/sqrt(sqrt(c)) on both q and k; softmax in float32.
torch::Tensor qkv_attention(const torch::Tensor& qkv, int64_t n_heads);

// QKVAttentionLegacy: qkv is reshaped to [N*H, 3*c, T] first (per-head interleaved q,k,v).
torch::Tensor qkv_attention_legacy(const torch::Tensor& qkv, int64_t n_heads);

// AttentionBlock (unet.py): x + proj_out(attention(qkv(norm(x)))) over the H*W positions.
// Keys: norm, qkv (Conv1d C -> 3C), proj_out (zero-initialised Conv1d C -> C).
class AttentionBlockImpl : public torch::nn::Module {
 public:
  // num_head_channels == -1: num_heads heads; else channels / num_head_channels heads.
  AttentionBlockImpl(int64_t channels, int64_t num_heads, int64_t num_head_channels, bool use_new_attention_order);
  torch::Tensor forward(const torch::Tensor& x);  // [N, C, H, W] -> same
  int64_t num_heads() const { return num_heads_; }

 private:
  int64_t channels_;
  int64_t num_heads_;
  bool use_new_attention_order_;
  torch::nn::GroupNorm norm_{nullptr};
  torch::nn::Conv1d qkv_{nullptr}, proj_out_{nullptr};
};
TORCH_MODULE(AttentionBlock);

}  // namespace repro::core
