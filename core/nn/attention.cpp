#include "core/nn/attention.h"

#include <ATen/Parallel.h>
#include <ATen/ThreadLocalState.h>

#include <algorithm>
#include <cmath>

#include "core/nn/layers.h"

namespace repro::core {

namespace {

// q, k, v: [N*H, c, T]. w[b, t, s] = sum_c q[b,c,t] k[b,c,s]; a[b,c,t] = sum_s w[b,t,s] v[b,c,s].
torch::Tensor attend(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, int64_t ch) {
  const double scale = 1.0 / std::sqrt(std::sqrt(static_cast<double>(ch)));
  const auto qs = q * scale, ks = k * scale;
  auto weights_of = [&](int64_t b0, int64_t n) {
    auto weight = torch::bmm(qs.narrow(0, b0, n).transpose(1, 2), ks.narrow(0, b0, n));  // [n, T, S]
    return torch::softmax(weight.to(torch::kFloat32), -1).to(weight.scalar_type());
  };
  const int64_t batch = q.size(0), length = q.size(2);
  if (!inference_only() || !q.device().is_cpu()) return torch::bmm(v, weights_of(0, batch).transpose(1, 2));
  // [B, c, T]. On the CPU without autograd: groups of heads on the intra-op threads (bmm multiplies head by head, one
  // at a time), each group's [T, S] weights small enough (256K floats, 1 MiB) to stay in cache
  // between the two products and the softmax. Every head's arithmetic is unchanged.
  const int64_t cells = std::max<int64_t>(1, length * k.size(2));
  const int64_t per_thread = (batch + at::get_num_threads() - 1) / at::get_num_threads();
  const int64_t step = std::max<int64_t>(1, std::min<int64_t>((int64_t{1} << 18) / cells, per_thread));
  auto out = torch::empty({batch, v.size(1), length}, v.options());
  const at::ThreadLocalState caller;  // InferenceMode and grad mode, for the worker threads
  at::parallel_for(0, (batch + step - 1) / step, 1, [&](int64_t begin, int64_t end) {
    at::ThreadLocalStateGuard same_state(caller);
    for (int64_t i = begin; i < end; ++i) {
      const int64_t b0 = i * step, n = std::min(step, batch - b0);
      auto part = out.narrow(0, b0, n);
      torch::bmm_out(part, v.narrow(0, b0, n), weights_of(b0, n).transpose(1, 2));
    }
  });
  return out;
}

}  // namespace

torch::Tensor qkv_attention(const torch::Tensor& qkv, int64_t n_heads) {
  const int64_t bs = qkv.size(0), width = qkv.size(1), length = qkv.size(2);
  TORCH_CHECK(width % (3 * n_heads) == 0, "qkv width ", width, " not divisible by 3 * ", n_heads, " heads");
  const int64_t ch = width / (3 * n_heads);
  auto parts = qkv.chunk(3, 1);
  auto q = parts[0].reshape({bs * n_heads, ch, length});
  auto k = parts[1].reshape({bs * n_heads, ch, length});
  auto v = parts[2].reshape({bs * n_heads, ch, length});
  return attend(q, k, v, ch).reshape({bs, -1, length});
}

torch::Tensor qkv_attention_legacy(const torch::Tensor& qkv, int64_t n_heads) {
  const int64_t bs = qkv.size(0), width = qkv.size(1), length = qkv.size(2);
  TORCH_CHECK(width % (3 * n_heads) == 0, "qkv width ", width, " not divisible by 3 * ", n_heads, " heads");
  const int64_t ch = width / (3 * n_heads);
  auto parts = qkv.reshape({bs * n_heads, ch * 3, length}).split(ch, 1);
  return attend(parts[0], parts[1], parts[2], ch).reshape({bs, -1, length});
}

AttentionBlockImpl::AttentionBlockImpl(int64_t channels, int64_t num_heads, int64_t num_head_channels,
                                       bool use_new_attention_order)
    : channels_(channels), use_new_attention_order_(use_new_attention_order) {
  if (num_head_channels == -1) {
    num_heads_ = num_heads;
  } else {
    TORCH_CHECK(channels % num_head_channels == 0, "q,k,v channels ", channels,
                " is not divisible by num_head_channels ", num_head_channels);
    num_heads_ = channels / num_head_channels;
  }
  norm_ = register_module("norm", normalization(channels));
  qkv_ = register_module("qkv", torch::nn::Conv1d(torch::nn::Conv1dOptions(channels, 3 * channels, 1)));
  proj_out_ = register_module("proj_out", torch::nn::Conv1d(torch::nn::Conv1dOptions(channels, channels, 1)));
  zero_module(*proj_out_);
}

torch::Tensor AttentionBlockImpl::forward(const torch::Tensor& x) {
  const auto sizes = x.sizes().vec();
  auto flat = x.reshape({sizes[0], sizes[1], -1});
  auto qkv = qkv_->forward(group_norm32(norm_, flat));
  auto h = use_new_attention_order_ ? qkv_attention(qkv, num_heads_) : qkv_attention_legacy(qkv, num_heads_);
  h = proj_out_->forward(h);
  return (inference_only() ? h.add_(flat) : flat + h).reshape(sizes);
}

}  // namespace repro::core
