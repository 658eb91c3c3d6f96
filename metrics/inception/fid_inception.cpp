#include "metrics/inception/fid_inception.h"

namespace repro::metrics {
namespace F = torch::nn::functional;
namespace {

BasicConv2dOptions conv(int64_t in, int64_t out, int64_t k, int64_t stride = 1, int64_t pad = 0) {
  return {in, out, k, k, stride, pad, pad};
}
// Asymmetric kernels of the 17x17 and 8x8 blocks, 'same' padding.
BasicConv2dOptions conv_1xk(int64_t in, int64_t out, int64_t k) { return {in, out, 1, k, 1, 0, k / 2}; }
BasicConv2dOptions conv_kx1(int64_t in, int64_t out, int64_t k) { return {in, out, k, 1, 1, k / 2, 0}; }

// TF's AvgPool 3x3/1 SAME: the mean of the valid pixels only.
torch::Tensor avg_pool_valid(const torch::Tensor& x) {
  return F::avg_pool2d(x, F::AvgPool2dFuncOptions(3).stride(1).padding(1).count_include_pad(false));
}

torch::Tensor max_pool_3x3_s2(const torch::Tensor& x) { return F::max_pool2d(x, F::MaxPool2dFuncOptions(3).stride(2)); }

}  // namespace

BasicConv2dImpl::BasicConv2dImpl(const BasicConv2dOptions& o) {
  conv_ = register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(o.in, o.out, {o.kh, o.kw})
                                                        .stride(o.stride)
                                                        .padding({o.pad_h, o.pad_w})
                                                        .bias(false)));
  bn_ = register_module("bn", torch::nn::BatchNorm2d(torch::nn::BatchNorm2dOptions(o.out).eps(1e-3)));
}

torch::Tensor BasicConv2dImpl::forward(const torch::Tensor& x) { return torch::relu(bn_->forward(conv_->forward(x))); }

FidInceptionAImpl::FidInceptionAImpl(int64_t in, int64_t pool_features) {
  branch1x1_ = register_module("branch1x1", BasicConv2d(conv(in, 64, 1)));
  branch5x5_1_ = register_module("branch5x5_1", BasicConv2d(conv(in, 48, 1)));
  branch5x5_2_ = register_module("branch5x5_2", BasicConv2d(conv(48, 64, 5, 1, 2)));
  branch3x3dbl_1_ = register_module("branch3x3dbl_1", BasicConv2d(conv(in, 64, 1)));
  branch3x3dbl_2_ = register_module("branch3x3dbl_2", BasicConv2d(conv(64, 96, 3, 1, 1)));
  branch3x3dbl_3_ = register_module("branch3x3dbl_3", BasicConv2d(conv(96, 96, 3, 1, 1)));
  branch_pool_ = register_module("branch_pool", BasicConv2d(conv(in, pool_features, 1)));
}

torch::Tensor FidInceptionAImpl::forward(const torch::Tensor& x) {
  return torch::cat({branch1x1_(x), branch5x5_2_(branch5x5_1_(x)), branch3x3dbl_3_(branch3x3dbl_2_(branch3x3dbl_1_(x))),
                     branch_pool_(avg_pool_valid(x))},
                    1);
}

InceptionBImpl::InceptionBImpl(int64_t in) {
  branch3x3_ = register_module("branch3x3", BasicConv2d(conv(in, 384, 3, 2)));
  branch3x3dbl_1_ = register_module("branch3x3dbl_1", BasicConv2d(conv(in, 64, 1)));
  branch3x3dbl_2_ = register_module("branch3x3dbl_2", BasicConv2d(conv(64, 96, 3, 1, 1)));
  branch3x3dbl_3_ = register_module("branch3x3dbl_3", BasicConv2d(conv(96, 96, 3, 2)));
}

torch::Tensor InceptionBImpl::forward(const torch::Tensor& x) {
  return torch::cat({branch3x3_(x), branch3x3dbl_3_(branch3x3dbl_2_(branch3x3dbl_1_(x))), max_pool_3x3_s2(x)}, 1);
}

FidInceptionCImpl::FidInceptionCImpl(int64_t in, int64_t c7) {
  branch1x1_ = register_module("branch1x1", BasicConv2d(conv(in, 192, 1)));
  branch7x7_1_ = register_module("branch7x7_1", BasicConv2d(conv(in, c7, 1)));
  branch7x7_2_ = register_module("branch7x7_2", BasicConv2d(conv_1xk(c7, c7, 7)));
  branch7x7_3_ = register_module("branch7x7_3", BasicConv2d(conv_kx1(c7, 192, 7)));
  branch7x7dbl_1_ = register_module("branch7x7dbl_1", BasicConv2d(conv(in, c7, 1)));
  branch7x7dbl_2_ = register_module("branch7x7dbl_2", BasicConv2d(conv_kx1(c7, c7, 7)));
  branch7x7dbl_3_ = register_module("branch7x7dbl_3", BasicConv2d(conv_1xk(c7, c7, 7)));
  branch7x7dbl_4_ = register_module("branch7x7dbl_4", BasicConv2d(conv_kx1(c7, c7, 7)));
  branch7x7dbl_5_ = register_module("branch7x7dbl_5", BasicConv2d(conv_1xk(c7, 192, 7)));
  branch_pool_ = register_module("branch_pool", BasicConv2d(conv(in, 192, 1)));
}

std::pair<torch::Tensor, torch::Tensor> FidInceptionCImpl::forward_taps(const torch::Tensor& x) {
  torch::Tensor b1 = branch1x1_(x);
  torch::Tensor b7 = branch7x7_3_(branch7x7_2_(branch7x7_1_(x)));
  torch::Tensor b7d = branch7x7dbl_5_(branch7x7dbl_4_(branch7x7dbl_3_(branch7x7dbl_2_(branch7x7dbl_1_(x)))));
  torch::Tensor bp = branch_pool_(avg_pool_valid(x));
  return {torch::cat({b1, b7, b7d, bp}, 1), b1};
}

torch::Tensor FidInceptionCImpl::forward(const torch::Tensor& x) { return forward_taps(x).first; }

InceptionDImpl::InceptionDImpl(int64_t in) {
  branch3x3_1_ = register_module("branch3x3_1", BasicConv2d(conv(in, 192, 1)));
  branch3x3_2_ = register_module("branch3x3_2", BasicConv2d(conv(192, 320, 3, 2)));
  branch7x7x3_1_ = register_module("branch7x7x3_1", BasicConv2d(conv(in, 192, 1)));
  branch7x7x3_2_ = register_module("branch7x7x3_2", BasicConv2d(conv_1xk(192, 192, 7)));
  branch7x7x3_3_ = register_module("branch7x7x3_3", BasicConv2d(conv_kx1(192, 192, 7)));
  branch7x7x3_4_ = register_module("branch7x7x3_4", BasicConv2d(conv(192, 192, 3, 2)));
}

torch::Tensor InceptionDImpl::forward(const torch::Tensor& x) {
  return torch::cat({branch3x3_2_(branch3x3_1_(x)), branch7x7x3_4_(branch7x7x3_3_(branch7x7x3_2_(branch7x7x3_1_(x)))),
                     max_pool_3x3_s2(x)},
                    1);
}

FidInceptionEImpl::FidInceptionEImpl(int64_t in, bool max_pool) : max_pool_(max_pool) {
  branch1x1_ = register_module("branch1x1", BasicConv2d(conv(in, 320, 1)));
  branch3x3_1_ = register_module("branch3x3_1", BasicConv2d(conv(in, 384, 1)));
  branch3x3_2a_ = register_module("branch3x3_2a", BasicConv2d(conv_1xk(384, 384, 3)));
  branch3x3_2b_ = register_module("branch3x3_2b", BasicConv2d(conv_kx1(384, 384, 3)));
  branch3x3dbl_1_ = register_module("branch3x3dbl_1", BasicConv2d(conv(in, 448, 1)));
  branch3x3dbl_2_ = register_module("branch3x3dbl_2", BasicConv2d(conv(448, 384, 3, 1, 1)));
  branch3x3dbl_3a_ = register_module("branch3x3dbl_3a", BasicConv2d(conv_1xk(384, 384, 3)));
  branch3x3dbl_3b_ = register_module("branch3x3dbl_3b", BasicConv2d(conv_kx1(384, 384, 3)));
  branch_pool_ = register_module("branch_pool", BasicConv2d(conv(in, 192, 1)));
}

torch::Tensor FidInceptionEImpl::forward(const torch::Tensor& x) {
  torch::Tensor b3 = branch3x3_1_(x);
  b3 = torch::cat({branch3x3_2a_(b3), branch3x3_2b_(b3)}, 1);
  torch::Tensor bd = branch3x3dbl_2_(branch3x3dbl_1_(x));
  bd = torch::cat({branch3x3dbl_3a_(bd), branch3x3dbl_3b_(bd)}, 1);
  torch::Tensor pooled =
      max_pool_ ? F::max_pool2d(x, F::MaxPool2dFuncOptions(3).stride(1).padding(1)) : avg_pool_valid(x);
  return torch::cat({branch1x1_(x), b3, bd, branch_pool_(pooled)}, 1);
}

torch::Tensor spatial_features(const torch::Tensor& mixed_6_conv) {
  TORCH_CHECK(mixed_6_conv.dim() == 4 && mixed_6_conv.size(1) >= kSpatialChannels,
              "spatial_features: expected [N, C >= 7, H, W], got ", mixed_6_conv.sizes());
  return mixed_6_conv.narrow(1, 0, kSpatialChannels).permute({0, 2, 3, 1}).reshape({mixed_6_conv.size(0), -1});
}

FidInceptionV3Impl::FidInceptionV3Impl() {
  Conv2d_1a_3x3_ = register_module("Conv2d_1a_3x3", BasicConv2d(conv(3, 32, 3, 2)));
  Conv2d_2a_3x3_ = register_module("Conv2d_2a_3x3", BasicConv2d(conv(32, 32, 3)));
  Conv2d_2b_3x3_ = register_module("Conv2d_2b_3x3", BasicConv2d(conv(32, 64, 3, 1, 1)));
  Conv2d_3b_1x1_ = register_module("Conv2d_3b_1x1", BasicConv2d(conv(64, 80, 1)));
  Conv2d_4a_3x3_ = register_module("Conv2d_4a_3x3", BasicConv2d(conv(80, 192, 3)));
  Mixed_5b_ = register_module("Mixed_5b", FidInceptionA(192, 32));
  Mixed_5c_ = register_module("Mixed_5c", FidInceptionA(256, 64));
  Mixed_5d_ = register_module("Mixed_5d", FidInceptionA(288, 64));
  Mixed_6a_ = register_module("Mixed_6a", InceptionB(288));
  Mixed_6b_ = register_module("Mixed_6b", FidInceptionC(768, 128));
  Mixed_6c_ = register_module("Mixed_6c", FidInceptionC(768, 160));
  Mixed_6d_ = register_module("Mixed_6d", FidInceptionC(768, 160));
  Mixed_6e_ = register_module("Mixed_6e", FidInceptionC(768, 192));
  Mixed_7a_ = register_module("Mixed_7a", InceptionD(768));
  Mixed_7b_ = register_module("Mixed_7b", FidInceptionE(1280, /*max_pool=*/false));
  Mixed_7c_ = register_module("Mixed_7c", FidInceptionE(2048, /*max_pool=*/true));
  fc_ = register_module("fc", torch::nn::Linear(kPoolDim, kLogitsDim));
}

InceptionTaps FidInceptionV3Impl::forward(const torch::Tensor& x) {
  TORCH_CHECK(x.dim() == 4 && x.size(1) == 3, "FidInceptionV3: expected [N, 3, H, W], got ", x.sizes());
  torch::Tensor h = Conv2d_2b_3x3_(Conv2d_2a_3x3_(Conv2d_1a_3x3_(x)));  // [N, 64, 147, 147]
  h = max_pool_3x3_s2(h);                                               // [N, 64, 73, 73]
  h = Conv2d_4a_3x3_(Conv2d_3b_1x1_(h));                                // [N, 192, 71, 71]
  h = max_pool_3x3_s2(h);                                               // [N, 192, 35, 35]
  h = Mixed_5d_(Mixed_5c_(Mixed_5b_(h)));                               // [N, 288, 35, 35]
  h = Mixed_6a_(h);                                                     // [N, 768, 17, 17]
  h = Mixed_6c_(Mixed_6b_(h));
  auto [h6d, mixed_6_conv] = Mixed_6d_->forward_taps(h);
  h = Mixed_7a_(Mixed_6e_(h6d));  // [N, 1280, 8, 8]
  h = Mixed_7c_(Mixed_7b_(h));    // [N, 2048, 8, 8]
  InceptionTaps taps;
  taps.pool_3 = h.mean({2, 3});  // the graph's 8x8 average pool
  taps.mixed_6_conv = mixed_6_conv;
  taps.logits = torch::matmul(taps.pool_3, fc_->weight.t());
  return taps;
}

}  // namespace repro::metrics
