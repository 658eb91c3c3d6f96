// The sampling fast paths (issue 17) against the straightforward computations they replace.
// Truth: the reference formulas written out here (GroupNorm then scale-shift then SiLU; a per-head
// softmax attention; p_sample's mean + sigma z from the float64 schedule), and the same network with
// autograd on, which takes the out-of-place, unchunked path. Tolerances are float32 rounding.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <array>
#include <cmath>
#include <string>
#include <vector>

#include "core/diffusion/gaussian_diffusion.h"
#include "core/diffusion/sampling.h"
#include "core/nn/attention.h"
#include "core/nn/layers.h"
#include "core/nn/unet.h"
#include "tests/support/tiny_unet.h"

using namespace repro::core;

namespace {

void expect_close(const torch::Tensor& got, const torch::Tensor& want, double tol, const std::string& what) {
  ASSERT_EQ(got.sizes(), want.sizes()) << what;
  const double err = (got.to(torch::kFloat64) - want.to(torch::kFloat64)).abs().max().item<double>();
  EXPECT_LE(err, tol * std::max(1.0, want.abs().max().item<double>())) << what;
}

// Every parameter non-zero (zero_module leaves the output convs at 0, which would hide errors).
void randomise(torch::nn::Module& m, int seed) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(seed);
  for (auto& p : m.parameters()) p.copy_(torch::randn_like(p) * (p.dim() > 1 ? 1.0 / std::sqrt(p[0].numel()) : 0.3));
}

}  // namespace

TEST(InferencePath, ScaleShiftFoldedIntoGroupNormMatchesTheFormula) {
  torch::manual_seed(1);
  auto norm = normalization(64);
  randomise(*norm, 2);
  auto x = torch::randn({3, 64, 5, 4}) * 2 + 0.5;
  auto scale = torch::randn({3, 64, 1, 1}), shift = torch::randn({3, 64, 1, 1});
  auto want = torch::silu(group_norm32(norm, x) * (1 + scale) + shift);
  {
    c10::InferenceMode inference;  // the in-place SiLU
    expect_close(group_norm_scale_shift_silu(norm, x, scale, shift), want, 1e-5, "inference");
  }
  expect_close(group_norm_scale_shift_silu(norm, x, scale, shift), want, 1e-5, "autograd on");
  EXPECT_THROW(group_norm_scale_shift_silu(norm, x, scale.slice(1, 0, 32), shift), c10::Error);
}

TEST(InferencePath, ChunkedAttentionMatchesPerHeadSoftmax) {
  torch::set_num_threads(2);
  torch::manual_seed(3);
  // 16 x 8 heads of length 256 make several head groups on each thread; 3 x 2 heads of length 9 one.
  for (auto [batch, heads, c, T] : {std::array<int64_t, 4>{16, 8, 32, 256}, std::array<int64_t, 4>{3, 2, 4, 9}}) {
    auto qkv = torch::randn({batch, 3 * heads * c, T});
    torch::Tensor fast, fast_legacy;
    {
      c10::InferenceMode inference;
      fast = qkv_attention(qkv, heads);
      fast_legacy = qkv_attention_legacy(qkv, heads);
    }
    auto q = qkv.slice(1, 0, heads * c).reshape({batch * heads, c, T});
    auto k = qkv.slice(1, heads * c, 2 * heads * c).reshape({batch * heads, c, T});
    auto v = qkv.slice(1, 2 * heads * c).reshape({batch * heads, c, T});
    auto w = torch::softmax(torch::matmul(q.transpose(1, 2), k) / std::sqrt(double(c)), -1);
    auto want = torch::matmul(v, w.transpose(1, 2)).reshape({batch, heads * c, T});
    expect_close(fast, want, 1e-5, "new order, T " + std::to_string(T));
    // With autograd on the attention takes the unchunked path: the same numbers.
    expect_close(qkv_attention(qkv, heads), fast, 1e-6, "unchunked, T " + std::to_string(T));
    expect_close(qkv_attention_legacy(qkv, heads), fast_legacy, 1e-6, "legacy unchunked, T " + std::to_string(T));
  }
}

TEST(InferencePath, UNetForwardInInferenceModeMatchesAutogradForward) {
  torch::set_num_threads(2);
  auto paper_like = repro::test::tiny_unet(16, {1, 2});
  auto legacy = paper_like;
  legacy.use_scale_shift_norm = false;
  legacy.resblock_updown = false;
  legacy.use_new_attention_order = false;
  legacy.learn_sigma = false;
  legacy.num_head_channels = -1;
  legacy.num_heads = 2;
  for (const auto& cfg : {paper_like, legacy}) {
    UNetModel model(cfg);
    randomise(*model, 4);
    model->eval();
    torch::manual_seed(5);
    auto x = torch::randn({4, 3, 16, 16});
    auto t = torch::tensor({0, 10, 500, 999}, torch::kInt64);
    const auto x_before = x.clone();
    auto want = model->forward(x, t).detach();  // out of place, unchunked (autograd records it)
    EXPECT_GT(want.abs().max().item<double>(), 0.1);
    torch::Tensor fast;
    {
      c10::InferenceMode inference;
      SingleThreadedBlas one_blas_thread;
      fast = model->forward(x, t);
    }
    expect_close(fast, want, 1e-5, cfg.use_scale_shift_norm ? "paper-like" : "legacy");
    EXPECT_TRUE(torch::equal(x, x_before)) << "the in-place ops must not touch the input";
  }
}

TEST(InferencePath, PSampleMatchesTheReferenceFormulaInFloat64) {
  // Learned range, epsilon prediction, respaced to 100 steps (the paper's sampling setup).
  DiffusionConfig dc;
  dc.learn_sigma = true;
  const auto d = GaussianDiffusion(dc).respaced("100");
  torch::manual_seed(6);
  auto x = torch::randn({3, 3, 4, 4});
  auto noise = torch::randn_like(x);
  auto out = torch::randn({3, 6, 4, 4});
  auto t = torch::tensor({0, 57, 99}, torch::kInt64);
  torch::Tensor seen_t;
  ModelFn model = [&](const torch::Tensor&, const torch::Tensor& tm) {
    seen_t = tm;
    return out;
  };
  torch::Tensor got;
  {
    c10::InferenceMode inference;
    got = p_sample(d, model, x, t, noise, true).sample;
  }
  EXPECT_EQ(seen_t[1].item<int64_t>(), d.timestep_map()[57]);
  const auto& s = d.schedule();
  auto x64 = x.to(torch::kFloat64), out64 = out.to(torch::kFloat64), z64 = noise.to(torch::kFloat64);
  for (int64_t i = 0; i < 3; ++i) {
    const int64_t k = t[i].item<int64_t>();
    auto eps = out64[i].slice(0, 0, 3), v = out64[i].slice(0, 3);
    auto x0 = (s.sqrt_recip_alphas_cumprod[k] * x64[i] - s.sqrt_recipm1_alphas_cumprod[k] * eps).clamp(-1, 1);
    auto mean = s.posterior_mean_coef1[k] * x0 + s.posterior_mean_coef2[k] * x64[i];
    auto frac = (v + 1) / 2;
    auto log_var = frac * std::log(s.betas[k]) + (1 - frac) * s.posterior_log_variance_clipped[k];
    auto want = k == 0 ? mean : mean + torch::exp(0.5 * log_var) * z64[i];
    expect_close(got[i], want, 2e-6, "t = " + std::to_string(k));
  }
}

TEST(InferencePath, ScheduleTablesBelongToTheirOwnProcess) {
  DiffusionConfig dc;
  dc.learn_sigma = true;
  GaussianDiffusion base(dc);
  auto t = torch::tensor({3}, torch::kInt64);
  auto at = [&](const GaussianDiffusion& d) { return d.extract(d.schedule().alphas_cumprod, t, {1}).item<double>(); };
  GaussianDiffusion spaced = base.respaced("10");
  const double base_value = at(base), spaced_value = at(spaced);  // both cached now
  EXPECT_NEAR(base_value, base.schedule().alphas_cumprod[3], 1e-7);
  EXPECT_NEAR(spaced_value, spaced.schedule().alphas_cumprod[3], 1e-7);
  EXPECT_GT(std::abs(base_value - spaced_value), 1e-3);
  GaussianDiffusion copy = spaced;  // a copy reads its own members
  EXPECT_NEAR(at(copy), spaced.schedule().alphas_cumprod[3], 1e-7);
  copy = base;  // assignment replaces the tables: nothing stale
  EXPECT_NEAR(at(copy), base.schedule().alphas_cumprod[3], 1e-7);
  EXPECT_EQ(copy.model_timesteps(t).item<int64_t>(), 3);
  EXPECT_EQ(spaced.model_timesteps(t).item<int64_t>(), spaced.timestep_map()[3]);
  // A caller's own vector is read afresh every call.
  for (double value : {0.25, 0.75}) {
    std::vector<double> own(1000, value);
    EXPECT_NEAR(base.extract(own, t, {1}).item<double>(), value, 1e-7);
  }
}

TEST(InferencePath, SampleLoopReturnsAnOrdinaryTensorAndRestoresBlasThreads) {
  using GetThreads = int (*)();
  const auto get = reinterpret_cast<GetThreads>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  const int before = get ? get() : 0;
  DiffusionConfig dc;
  dc.learn_sigma = true;
  const auto d = GaussianDiffusion(dc).respaced("3");
  int blas_threads_inside = -1;
  ModelFn model = [&](const torch::Tensor& x, const torch::Tensor&) {
    if (get) blas_threads_inside = get();
    return torch::cat({0.1 * x, torch::zeros_like(x)}, 1);
  };
  auto gen = at::detail::createCPUGenerator(7);
  auto x = sample_loop(d, model, {2, 3, 4, 4}, gen, torch::kCPU, SampleOptions{});
  EXPECT_FALSE(x.is_inference());
  x.mul_(2);  // callers may modify it in place
  if (!get) GTEST_SKIP() << "the BLAS is not OpenBLAS: nothing to restore";
  EXPECT_EQ(blas_threads_inside, 1);
  EXPECT_EQ(get(), before);
}
