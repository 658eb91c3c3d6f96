// The gpu tier (ctest -L gpu): the CUDA code paths against the CPU float32 ones as truth. The same
// randomised tiny UNet and the same inputs (drawn on the CPU) go to both devices:
//  - float32 parity with TF32 off (cuDNN would otherwise round conv inputs to a 10-bit mantissa):
//    the forward pass, the training loss terms (DDPM-IP perturbation on) and one ancestral step,
//    each within 1e-4 of the CPU value relative to its largest magnitude (reduction order only);
//  - fp16 with dynamic loss scaling and bf16 without, as the trainer runs them (MixedPrecision):
//    overflowing scaled gradients skip the step and halve the scale, and the unscaled float32
//    master gradients match the CPU float32 gradients within half-precision error.
// Every CudaParityGpu test skips with the reason when no CUDA device is present; NoTf32Guard (the
// shared TF32 guard's flags) runs everywhere.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <utility>
#include <vector>

#include "core/diffusion/gaussian_diffusion.h"
#include "core/diffusion/sampling.h"
#include "core/nn/unet.h"
#include "core/train/mixed_precision.h"
#include "core/util/device.h"
#include "tests/support/tiny_unet.h"

using namespace repro;
using namespace repro::core;

namespace {
constexpr char kNoCuda[] = "no CUDA device: the gpu tier compares CUDA with the CPU";

// Reduction order differs between cuDNN/cuBLAS and the CPU kernels: a few float32 ulps per op,
// summed over the network's depth.
constexpr double kFloat32Tolerance = 1e-4;

UNetModel randomised_model() {
  UNetModel m(test::tiny_unet(16, {1, 2}));
  torch::NoGradGuard ng;
  torch::manual_seed(11);
  // The reference zero-inits the output convs: random weights everywhere so every path counts.
  for (auto& p : m->parameters()) p.copy_(torch::randn_like(p) * (p.dim() > 1 ? 1.0 / std::sqrt(p[0].numel()) : 0.1));
  return m;
}

// The model's state on the CPU, copied into a second model moved to CUDA.
UNetModel cuda_copy(const UNetModel& cpu) {
  UNetModel m(cpu->config());
  torch::NoGradGuard ng;
  auto src = cpu->parameters();
  auto dst = m->parameters();
  for (size_t i = 0; i < src.size(); ++i) dst[i].copy_(src[i]);
  m->to(torch::kCUDA);
  return m;
}

// The randomised model on the CPU and its CUDA copy, both in eval mode (dropout off).
struct ModelPair {
  UNetModel cpu, gpu;
};
ModelPair eval_pair() {
  UNetModel cpu = randomised_model();
  cpu->eval();
  UNetModel gpu = cuda_copy(cpu);
  gpu->eval();
  return {cpu, gpu};
}

ModelFn as_fn(UNetModel m) {
  return [m](const torch::Tensor& x, const torch::Tensor& t) mutable { return m->forward(x, t); };
}

DiffusionConfig learned_sigma_diffusion() {
  DiffusionConfig d;
  d.learn_sigma = true;  // tiny_unet predicts the variance too: the loss has its vb term
  return d;
}

// max |got - want| <= tol * max(|want|, tiny), both moved to the CPU.
void expect_close(const torch::Tensor& got, const torch::Tensor& want, double tol, const char* what) {
  auto g = got.to(torch::kCPU, torch::kFloat64);
  auto w = want.to(torch::kCPU, torch::kFloat64);
  ASSERT_EQ(g.sizes(), w.sizes()) << what;
  ASSERT_TRUE(torch::isfinite(g).all().item<bool>()) << what;
  const double scale = std::max(w.abs().max().item<double>(), 1e-12);
  const double err = (g - w).abs().max().item<double>();
  EXPECT_LE(err, tol * scale) << what << ": max error " << err << " vs largest value " << scale;
}

// The float32 CPU gradients of loss = mean(model(x, t)^2), in parameter order.
std::vector<torch::Tensor> cpu_gradients(UNetModel m, const torch::Tensor& x, const torch::Tensor& t) {
  m->zero_grad();
  m->forward(x, t).pow(2).mean().backward();
  std::vector<torch::Tensor> g;
  for (const auto& p : m->parameters()) g.push_back(p.grad().clone());
  return g;
}

double global_norm(const std::vector<torch::Tensor>& grads) {
  double sq = 0;
  for (const auto& g : grads) sq += g.to(torch::kCPU, torch::kFloat64).pow(2).sum().item<double>();
  return std::sqrt(sq);
}

// The master gradients after a successful grads_to_master against the CPU float32 ones: the global
// norm within `tol`, and each large tensor's direction (cosine > 0.99: half precision perturbs
// every element by ~2^-8 relative, far from flipping a tensor's direction).
void expect_master_grads_match(const MixedPrecision& mp, const std::vector<torch::Tensor>& want, double norm,
                               double tol) {
  const auto& masters = mp.master_params();
  ASSERT_EQ(masters.size(), want.size());
  EXPECT_NEAR(norm, global_norm(want), tol * global_norm(want));
  for (size_t i = 0; i < masters.size(); ++i) {
    const auto& g = masters[i].grad();
    ASSERT_TRUE(g.defined()) << i;
    EXPECT_EQ(g.scalar_type(), torch::kFloat32) << i;
    auto a = g.to(torch::kCPU, torch::kFloat64).flatten();
    auto b = want[i].to(torch::kFloat64).flatten();
    if (b.numel() < 64 || b.norm().item<double>() < 1e-3 * global_norm(want)) continue;
    EXPECT_GT((a.dot(b) / (a.norm() * b.norm())).item<double>(), 0.99) << "parameter " << i;
  }
}
}  // namespace

// The guard the parity tests and the FID feature extractor share (core/util/device.h): its flags
// are LibTorch's globals, so this runs without a GPU too.
TEST(NoTf32Guard, TurnsTf32OffWhileAliveAndRestoresEachFlag) {
  auto& ctx = at::globalContext();
  const bool cudnn = ctx.allowTF32CuDNN(), cublas = ctx.allowTF32CuBLAS();
  for (const auto& [cudnn_before, cublas_before] : {std::pair{true, true}, {true, false}, {false, true}}) {
    ctx.setAllowTF32CuDNN(cudnn_before);
    ctx.setAllowTF32CuBLAS(cublas_before);
    {
      const NoTf32 guard;
      EXPECT_FALSE(ctx.allowTF32CuDNN());
      EXPECT_FALSE(ctx.allowTF32CuBLAS());
    }
    EXPECT_EQ(ctx.allowTF32CuDNN(), cudnn_before);
    EXPECT_EQ(ctx.allowTF32CuBLAS(), cublas_before);
  }
  ctx.setAllowTF32CuDNN(cudnn);
  ctx.setAllowTF32CuBLAS(cublas);
}

TEST(CudaParityGpu, UNetForwardMatchesCpu) {
  if (!cuda_available()) GTEST_SKIP() << kNoCuda;
  NoTf32 no_tf32;
  auto [cpu, gpu] = eval_pair();
  torch::manual_seed(3);
  auto x = torch::randn({4, 3, 16, 16});
  auto t = torch::tensor({0, 10, 500, 999}, torch::kInt64);
  torch::NoGradGuard ng;
  auto want = cpu->forward(x, t);
  auto got = gpu->forward(x.cuda(), t.cuda());
  EXPECT_TRUE(got.is_cuda());
  expect_close(got, want, kFloat32Tolerance, "UNet forward");
}

TEST(CudaParityGpu, TrainingLossMatchesCpu) {
  if (!cuda_available()) GTEST_SKIP() << kNoCuda;
  NoTf32 no_tf32;
  auto [cpu, gpu] = eval_pair();  // dropout 0 in tiny_unet; eval keeps it so if that changes
  GaussianDiffusion diffusion(learned_sigma_diffusion());
  torch::manual_seed(5);
  auto x0 = torch::rand({4, 3, 16, 16}) * 2 - 1;
  auto t = torch::tensor({0, 1, 400, 999}, torch::kInt64);
  auto noise = torch::randn_like(x0);
  auto xi = torch::randn_like(x0);
  torch::NoGradGuard ng;
  auto want = diffusion.training_losses(as_fn(cpu), x0, t, noise, xi, 0.1);
  auto got = diffusion.training_losses(as_fn(gpu), x0.cuda(), t.cuda(), noise.cuda(), xi.cuda(), 0.1);
  expect_close(got.mse, want.mse, kFloat32Tolerance, "mse");
  expect_close(got.vb, want.vb, kFloat32Tolerance, "vb");
  expect_close(got.loss, want.loss, kFloat32Tolerance, "loss");
}

TEST(CudaParityGpu, OneAncestralStepMatchesCpu) {
  if (!cuda_available()) GTEST_SKIP() << kNoCuda;
  NoTf32 no_tf32;
  auto [cpu, gpu] = eval_pair();
  // A 100-step respacing, as `repro sample --steps 100`; t == 0 adds no noise, the others do.
  GaussianDiffusion diffusion = GaussianDiffusion(learned_sigma_diffusion()).respaced("100");
  torch::manual_seed(7);
  auto x = torch::randn({3, 3, 16, 16});
  auto z = torch::randn_like(x);
  auto t = torch::tensor({99, 50, 0}, torch::kInt64);
  torch::NoGradGuard ng;
  auto want = p_sample(diffusion, as_fn(cpu), x, t, z, /*clip_denoised=*/true).sample;
  auto got = p_sample(diffusion, as_fn(gpu), x.cuda(), t.cuda(), z.cuda(), true).sample;
  expect_close(got, want, kFloat32Tolerance, "p_sample");
}

TEST(LossScalingGpu, Fp16StepOnCudaSkipsOverflowsThenUnscalesIntoMasters) {
  if (!cuda_available()) GTEST_SKIP() << kNoCuda;
  NoTf32 no_tf32;
  auto cpu = randomised_model();
  torch::manual_seed(13);
  auto x = torch::randn({4, 3, 16, 16});
  auto t = torch::tensor({3, 200, 600, 900}, torch::kInt64);
  const auto want = cpu_gradients(cpu, x, t);
  auto gpu = cuda_copy(cpu);
  // lg 30: 2^30 times a loss of order 1 overflows float16 (max 65504) in the backward pass, so
  // the first steps must be skipped, each lowering the scale by exactly 1, until one fits.
  MixedPrecision mp(gpu, torch::kHalf, /*loss_scaling=*/true, 30.0, 1e-3);
  int steps = 0;
  double norm = 0;
  bool ok = false;
  while (!ok && steps < 30) {
    ++steps;
    gpu->zero_grad();
    const double lg = mp.lg_loss_scale();
    mp.scale_loss(gpu->forward(x.cuda(), t.cuda()).pow(2).mean()).backward();
    ok = mp.grads_to_master(&norm);
    EXPECT_DOUBLE_EQ(mp.lg_loss_scale(), ok ? lg + 1e-3 : lg - 1.0) << "step " << steps;
  }
  ASSERT_TRUE(ok) << "no step fitted float16 after 30 halvings";
  EXPECT_GT(steps, 1) << "2^30 should have overflowed float16";
  int half = 0;
  for (const auto& p : gpu->parameters()) half += p.scalar_type() == torch::kHalf;
  EXPECT_GT(half, 10);
  // float16 keeps 11 bits: the unscaled norm within 2% of float32's.
  expect_master_grads_match(mp, want, norm, 0.02);
}

TEST(Bf16Gpu, ForwardAndStepOnCudaFollowFloat32) {
  if (!cuda_available()) GTEST_SKIP() << kNoCuda;
  NoTf32 no_tf32;
  auto cpu = randomised_model();
  torch::manual_seed(17);
  auto x = torch::randn({4, 3, 16, 16});
  auto t = torch::tensor({3, 200, 600, 900}, torch::kInt64);
  torch::Tensor ref;
  {
    torch::NoGradGuard ng;
    ref = cpu->forward(x, t);
  }
  const auto want = cpu_gradients(cpu, x, t);
  auto gpu = cuda_copy(cpu);
  MixedPrecision mp(gpu, torch::kBFloat16, /*loss_scaling=*/false);  // bf16 has float32's range
  {
    torch::NoGradGuard ng;
    auto out = gpu->forward(x.cuda(), t.cuda());
    EXPECT_EQ(out.scalar_type(), torch::kFloat32);  // the `out` block stays float32
    // bfloat16 keeps 8 bits (2^-8 = 0.4% per rounding), a few dozen roundings deep.
    expect_close(out, ref, 0.05, "bf16 forward");
  }
  gpu->zero_grad();
  mp.scale_loss(gpu->forward(x.cuda(), t.cuda()).pow(2).mean()).backward();
  double norm = 0;
  ASSERT_TRUE(mp.grads_to_master(&norm));
  EXPECT_DOUBLE_EQ(mp.lg_loss_scale(), 20.0);  // no scaling: the scale never moves
  expect_master_grads_match(mp, want, norm, 0.05);
  // The step: SGD on the float32 masters, then the bf16 torso takes their rounded values.
  {
    torch::NoGradGuard ng;
    for (const auto& m : mp.master_params()) const_cast<torch::Tensor&>(m).sub_(m.grad() * 0.1);
  }
  mp.masters_to_model();
  auto params = gpu->parameters();
  for (size_t i = 0; i < params.size(); ++i) {
    const auto& m = mp.master_params()[i];
    EXPECT_TRUE(torch::equal(params[i], m.to(params[i].scalar_type()))) << "parameter " << i;
  }
}
