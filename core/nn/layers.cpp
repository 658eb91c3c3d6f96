#include "core/nn/layers.h"

namespace repro::core {

namespace F = torch::nn::functional;

torch::nn::GroupNorm normalization(int64_t channels) {
  return torch::nn::GroupNorm(torch::nn::GroupNormOptions(32, channels).eps(1e-5));
}

torch::Tensor group_norm32(const torch::nn::GroupNorm& norm, const torch::Tensor& x) {
  auto y = torch::group_norm(x.to(torch::kFloat32), norm->options.num_groups(), norm->weight, norm->bias,
                             norm->options.eps());
  return y.to(x.scalar_type());
}

torch::Tensor group_norm_silu(const torch::nn::GroupNorm& norm, const torch::Tensor& x) {
  auto y = group_norm32(norm, x);
  return inference_only() ? torch::silu_(y) : torch::silu(y);
}

torch::Tensor group_norm_scale_shift_silu(const torch::nn::GroupNorm& norm, const torch::Tensor& x,
                                          const torch::Tensor& scale, const torch::Tensor& shift) {
  const int64_t n = x.size(0), c = x.size(1);
  TORCH_CHECK(scale.numel() == n * c && shift.numel() == n * c,
              "group_norm_scale_shift_silu: expected scale and shift [", n, ", ", c, ", 1, 1], got ", scale.sizes(),
              " and ", shift.sizes());
  // Sample n's groups are groups n*G .. n*G+G-1 of one [1, N*C, ...] tensor, whose channel n*C+c
  // carries the affine gamma_c (1 + scale_nc), beta_c (1 + scale_nc) + shift_nc.
  const auto one_plus = scale.to(torch::kFloat32).reshape({n, c}) + 1;
  const auto weight = (norm->weight * one_plus).reshape({n * c});
  const auto bias = (norm->bias * one_plus + shift.to(torch::kFloat32).reshape({n, c})).reshape({n * c});
  std::vector<int64_t> flat = x.sizes().vec();
  flat[0] = 1;
  flat[1] = n * c;
  auto y = torch::group_norm(x.to(torch::kFloat32).reshape(flat), n * norm->options.num_groups(), weight, bias,
                             norm->options.eps())
               .reshape(x.sizes());
  y = inference_only() ? torch::silu_(y) : torch::silu(y);
  return y.to(x.scalar_type());
}

torch::nn::Conv2d conv3x3(int64_t in, int64_t out, int64_t stride) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).stride(stride).padding(1));
}

torch::nn::Conv2d conv1x1(int64_t in, int64_t out) { return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 1)); }

void zero_module(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (auto& p : module.parameters()) p.zero_();
}

UpsampleImpl::UpsampleImpl(int64_t channels, bool use_conv, int64_t out_channels) : use_conv_(use_conv) {
  if (out_channels < 0) out_channels = channels;
  if (use_conv_) conv_ = register_module("conv", conv3x3(channels, out_channels));
}

torch::Tensor UpsampleImpl::forward(const torch::Tensor& x) {
  auto h =
      F::interpolate(x, F::InterpolateFuncOptions().scale_factor(std::vector<double>{2.0, 2.0}).mode(torch::kNearest));
  return use_conv_ ? conv_->forward(h) : h;
}

DownsampleImpl::DownsampleImpl(int64_t channels, bool use_conv, int64_t out_channels) : use_conv_(use_conv) {
  if (out_channels < 0) out_channels = channels;
  if (use_conv_) op_ = register_module("op", conv3x3(channels, out_channels, 2));
}

torch::Tensor DownsampleImpl::forward(const torch::Tensor& x) {
  return use_conv_ ? op_->forward(x) : F::avg_pool2d(x, F::AvgPool2dFuncOptions(2).stride(2));
}

torch::Tensor TimestepEmbedSequentialImpl::forward(torch::Tensor x, const torch::Tensor& emb) {
  for (auto& call : calls_) x = call(x, emb);
  return x;
}

}  // namespace repro::core
