#pragma once
// The FID Inception-v3 "2015-12-05" network (the TF graph classify_image_graph_def.pb the reference
// evaluator runs, paper-spec §7) as a native LibTorch module, in the TF-compatible variant of
// pytorch-fid (FIDInceptionA/C/E_1/E_2) and of NVIDIA's TorchScript inception-2015-12-05.pt:
//   - BatchNorm eps 1e-3 (TF's), conv without bias, ReLU after every BatchNorm;
//   - the pool branch of the A, C and E_1 blocks is avg_pool 3x3/1/1 with count_include_pad=False
//     (TF's AvgPool with SAME padding averages only the valid pixels);
//   - the pool branch of the last block (Mixed_7c = E_2) is max_pool 3x3/1/1 (the TF graph's);
//   - fc: 2048 -> 1008 (the graph's 1008 classes).
// Module and parameter names are pytorch-fid's state-dict keys (Conv2d_1a_3x3.conv.weight,
// Conv2d_1a_3x3.bn.running_var, Mixed_5b.branch1x1.conv.weight, ..., fc.weight, fc.bias), so
// pt_inception-2015-12-05-6726825d.pth and TorchScript modules with those names load by name.
//
// TF graph node <-> module: mixed = Mixed_5b, mixed_1 = Mixed_5c, mixed_2 = Mixed_5d,
// mixed_3 = Mixed_6a, mixed_4 = Mixed_6b, mixed_5 = Mixed_6c, mixed_6 = Mixed_6d, mixed_7 = Mixed_6e,
// mixed_8 = Mixed_7a, mixed_9 = Mixed_7b, mixed_10 = Mixed_7c; `mixed_6/conv` = Mixed_6d.branch1x1
// (after its ReLU); `pool_3` = the final 8x8 average pool; `softmax/logits/MatMul` = pool_3 x fc.weight^T
// (no bias).
#include <torch/torch.h>

#include <cstdint>

namespace repro::metrics {

// conv (bias-free) -> BatchNorm(eps 1e-3) -> ReLU; keys "conv.weight", "bn.{weight,bias,running_mean,
// running_var,num_batches_tracked}".
struct BasicConv2dOptions {
  int64_t in, out;
  int64_t kh, kw;
  int64_t stride = 1;
  int64_t pad_h = 0, pad_w = 0;
};
class BasicConv2dImpl : public torch::nn::Module {
 public:
  explicit BasicConv2dImpl(const BasicConv2dOptions& o);
  torch::Tensor forward(const torch::Tensor& x);  // [N, in, H, W] -> [N, out, H', W']

 private:
  torch::nn::Conv2d conv_{nullptr};
  torch::nn::BatchNorm2d bn_{nullptr};
};
TORCH_MODULE(BasicConv2d);

// 35x35 block (Mixed_5b/c/d): branch1x1, branch5x5_{1,2}, branch3x3dbl_{1,2,3}, branch_pool (after an
// avg pool without padding counted). Output channels 224 + pool_features.
class FidInceptionAImpl : public torch::nn::Module {
 public:
  FidInceptionAImpl(int64_t in, int64_t pool_features);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  BasicConv2d branch1x1_{nullptr}, branch5x5_1_{nullptr}, branch5x5_2_{nullptr}, branch3x3dbl_1_{nullptr},
      branch3x3dbl_2_{nullptr}, branch3x3dbl_3_{nullptr}, branch_pool_{nullptr};
};
TORCH_MODULE(FidInceptionA);

// 35x35 -> 17x17 reduction (Mixed_6a): branch3x3, branch3x3dbl_{1,2,3}, max pool. 768 channels out.
class InceptionBImpl : public torch::nn::Module {
 public:
  explicit InceptionBImpl(int64_t in);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  BasicConv2d branch3x3_{nullptr}, branch3x3dbl_1_{nullptr}, branch3x3dbl_2_{nullptr}, branch3x3dbl_3_{nullptr};
};
TORCH_MODULE(InceptionB);

// 17x17 block (Mixed_6b..e): branch1x1, branch7x7_{1,2,3}, branch7x7dbl_{1..5}, branch_pool. 768 out.
// forward_taps also returns branch1x1's output (the `mixed_N/conv` node).
class FidInceptionCImpl : public torch::nn::Module {
 public:
  FidInceptionCImpl(int64_t in, int64_t channels_7x7);
  torch::Tensor forward(const torch::Tensor& x);
  // {block output [N, 768, 17, 17], branch1x1 after ReLU [N, 192, 17, 17]}
  std::pair<torch::Tensor, torch::Tensor> forward_taps(const torch::Tensor& x);

 private:
  BasicConv2d branch1x1_{nullptr}, branch7x7_1_{nullptr}, branch7x7_2_{nullptr}, branch7x7_3_{nullptr},
      branch7x7dbl_1_{nullptr}, branch7x7dbl_2_{nullptr}, branch7x7dbl_3_{nullptr}, branch7x7dbl_4_{nullptr},
      branch7x7dbl_5_{nullptr}, branch_pool_{nullptr};
};
TORCH_MODULE(FidInceptionC);

// 17x17 -> 8x8 reduction (Mixed_7a): branch3x3_{1,2}, branch7x7x3_{1..4}, max pool. 1280 out.
class InceptionDImpl : public torch::nn::Module {
 public:
  explicit InceptionDImpl(int64_t in);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  BasicConv2d branch3x3_1_{nullptr}, branch3x3_2_{nullptr}, branch7x7x3_1_{nullptr}, branch7x7x3_2_{nullptr},
      branch7x7x3_3_{nullptr}, branch7x7x3_4_{nullptr};
};
TORCH_MODULE(InceptionD);

// 8x8 block (Mixed_7b = E_1 with an avg pool without padding counted, Mixed_7c = E_2 with a max pool):
// branch1x1, branch3x3_{1,2a,2b}, branch3x3dbl_{1,2,3a,3b}, branch_pool. 2048 out.
class FidInceptionEImpl : public torch::nn::Module {
 public:
  FidInceptionEImpl(int64_t in, bool max_pool);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  bool max_pool_;
  BasicConv2d branch1x1_{nullptr}, branch3x3_1_{nullptr}, branch3x3_2a_{nullptr}, branch3x3_2b_{nullptr},
      branch3x3dbl_1_{nullptr}, branch3x3dbl_2_{nullptr}, branch3x3dbl_3a_{nullptr}, branch3x3dbl_3b_{nullptr},
      branch_pool_{nullptr};
};
TORCH_MODULE(FidInceptionE);

// The three taps the evaluator reads (paper-spec §7).
struct InceptionTaps {
  torch::Tensor pool_3;        // [N, 2048]: FID, IS, precision/recall
  torch::Tensor mixed_6_conv;  // [N, 192, 17, 17] NCHW: Mixed_6d.branch1x1 after ReLU (sFID source)
  torch::Tensor logits;        // [N, 1008]: pool_3 x fc.weight^T, without fc.bias (IS)
};

// sFID's feature: mixed_6/conv[..., :7] in the graph's NHWC layout, flattened in (h, w, c) order, as
// evaluator.py L599 does. [N, 192, 17, 17] -> [N, 7 * 17 * 17 = 2023].
torch::Tensor spatial_features(const torch::Tensor& mixed_6_conv);

constexpr int64_t kPoolDim = 2048;
constexpr int64_t kSpatialChannels = 7;  // the evaluator keeps the first 7 of 192 channels
constexpr int64_t kSpatialDim = kSpatialChannels * 17 * 17;
constexpr int64_t kLogitsDim = 1008;  // the TF graph's classes (1000 ImageNet + 8 unused)

class FidInceptionV3Impl : public torch::nn::Module {
 public:
  // Builds the network with LibTorch's default initialisation; load weights with
  // metrics/inception/inception_weights.h. Call eval() before use (BatchNorm must use running stats).
  FidInceptionV3Impl();

  // x: [N, 3, 299, 299] float32 NCHW, already normalised to (x - 128) / 128 (metrics::inception_input,
  // permuted to NCHW). pytorch-fid feeds (x / 255) * 2 - 1 instead: the same map up to a scale of
  // 255/256 and an offset of 1/256, so its features differ slightly from the evaluator's.
  InceptionTaps forward(const torch::Tensor& x);

 private:
  BasicConv2d Conv2d_1a_3x3_{nullptr}, Conv2d_2a_3x3_{nullptr}, Conv2d_2b_3x3_{nullptr}, Conv2d_3b_1x1_{nullptr},
      Conv2d_4a_3x3_{nullptr};
  FidInceptionA Mixed_5b_{nullptr}, Mixed_5c_{nullptr}, Mixed_5d_{nullptr};
  InceptionB Mixed_6a_{nullptr};
  FidInceptionC Mixed_6b_{nullptr}, Mixed_6c_{nullptr}, Mixed_6d_{nullptr}, Mixed_6e_{nullptr};
  InceptionD Mixed_7a_{nullptr};
  FidInceptionE Mixed_7b_{nullptr}, Mixed_7c_{nullptr};
  torch::nn::Linear fc_{nullptr};
};
TORCH_MODULE(FidInceptionV3);

}  // namespace repro::metrics
