// The convert_to_fp16 scope of the reference (paper-spec §4.7): only the conv weights of
// input_blocks, middle_block and output_blocks change dtype; the time MLP, the emb Linear layers,
// GroupNorm and the final `out` block stay float32. bfloat16 runs on the CPU, so the dtype
// plumbing is tested here without a GPU; the fp16 CUDA run is in the gpu tier.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "base/util/strings.h"
#include "core/nn/unet.h"
#include "core/train/ema.h"
#include "core/train/mixed_precision.h"
#include "core/train/trainer.h"
#include "core/util/checkpoint.h"
#include "core/util/device.h"
#include "tests/support/tiny_data.h"
#include "tests/support/tiny_unet.h"
#include "train_data/image_sources.h"

using namespace repro;
using namespace repro::core;

namespace {
UNetConfig tiny() { return test::tiny_unet(16, {1, 2}); }

void randomise(UNetModel& m) {
  torch::NoGradGuard ng;
  torch::manual_seed(9);
  for (auto& p : m->parameters()) p.copy_(torch::randn_like(p) * (p.dim() > 1 ? 1.0 / std::sqrt(p[0].numel()) : 0.1));
}

bool is_torso_conv(const std::string& name) {
  const bool torso =
      starts_with(name, "input_blocks.") || starts_with(name, "middle_block.") || starts_with(name, "output_blocks.");
  const bool conv = name.find("in_layers.2") != std::string::npos || name.find("out_layers.3") != std::string::npos ||
                    name.find("skip_connection") != std::string::npos || name.find("qkv") != std::string::npos ||
                    name.find("proj_out") != std::string::npos || starts_with(name, "input_blocks.0.0") ||
                    name.find(".op.") != std::string::npos || name.find(".conv.") != std::string::npos;
  return torso && conv;
}

// The randomised tiny model in eval mode, an input batch and the model's float32 output for it.
struct Float32Reference {
  UNetModel model{tiny()};
  torch::Tensor x, t, out;
  Float32Reference() {
    randomise(model);
    model->eval();
    torch::NoGradGuard ng;
    x = torch::randn({2, 3, 16, 16});
    t = torch::tensor({10, 900}, torch::kInt64);
    out = model->forward(x, t);
  }
};
}  // namespace

TEST(MixedPrecision, ConvertTorsoScopeMatchesTheReference) {
  UNetModel model(tiny());
  model->convert_torso(torch::kBFloat16);
  int converted = 0;
  for (const auto& [name, t] : module_state(*model)) {
    if (is_torso_conv(name)) {
      EXPECT_EQ(t.scalar_type(), torch::kBFloat16) << name;
      ++converted;
    } else {
      EXPECT_EQ(t.scalar_type(), torch::kFloat32) << name;
    }
  }
  EXPECT_GT(converted, 10);
}

TEST(MixedPrecision, HalfTorsoStaysCloseToFloat32AndReturnsFloat32) {
  Float32Reference r;
  auto& [model, x, t, ref] = r;
  torch::NoGradGuard ng;
  model->convert_torso(torch::kBFloat16);
  auto half = model->forward(x, t);
  EXPECT_EQ(half.scalar_type(), torch::kFloat32);
  // bfloat16 keeps 8 bits of mantissa: a few percent of the output scale.
  EXPECT_LT((half - ref).abs().max().item<float>(), 0.1f * ref.abs().max().item<float>());
  EXPECT_GT((half - ref).abs().max().item<float>(), 0.0f);  // it really ran in bfloat16
}

namespace {
// MixedPrecisionTrainer's order: the masters copy the float32 init, then the torso is converted.
void expect_masters_hold_the_float32_init(torch::Device device, torch::ScalarType half) {
  UNetModel model(tiny());
  randomise(model);
  model->to(device);
  std::vector<torch::Tensor> init;
  for (const auto& p : model->parameters()) init.push_back(p.detach().clone());
  MixedPrecision mp(model, half, /*loss_scaling=*/half == torch::kHalf);
  const auto params = model->parameters();
  const Ema ema(0.9999, mp.master_params());
  int rounded = 0;
  for (size_t i = 0; i < init.size(); ++i) {
    EXPECT_EQ(mp.master_params()[i].scalar_type(), torch::kFloat32) << i;
    EXPECT_TRUE(torch::equal(mp.master_params()[i], init[i])) << i;  // bitwise
    EXPECT_TRUE(torch::equal(ema.shadow()[i], init[i])) << i;
    if (params[i].scalar_type() == half) {
      EXPECT_TRUE(torch::equal(params[i], init[i].to(half))) << i;
      rounded += !torch::equal(params[i].to(torch::kFloat32), init[i]);
    }
  }
  EXPECT_GT(rounded, 10);  // the torso really is in half precision, and its rounding is not in the masters
}
}  // namespace

TEST(MixedPrecision, MastersAndEmaStartFromTheFloat32Init) {
  expect_masters_hold_the_float32_init(torch::kCPU, torch::kBFloat16);
}

TEST(MixedPrecision, TrainerEmaStartsFromTheFloat32Init) {
  test::TempDir dir;
  train_data::NpzImageSource data(test::write_dataset(dir, 4), false, 1);
  TrainConfig c;
  c.seed = 7;
  TrainerOptions o;
  o.run_dir = dir.file("run");
  o.precision = "bf16";
  const UNetConfig cfg = test::tiny_unet(8, {1, 1});
  Trainer trainer(cfg, DiffusionConfig{}, c, data, o);
  torch::manual_seed(derive_seed(c.seed, kStreamGlobal));  // as the trainer seeds its init
  UNetModel ref(cfg);
  const auto want = ref->parameters();
  const auto& shadow = trainer.emas().at(0).shadow();
  ASSERT_EQ(shadow.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_TRUE(torch::equal(shadow[i], want[i])) << i;
  int half = 0;
  for (const auto& p : trainer.model()->parameters()) half += p.scalar_type() == torch::kBFloat16;
  EXPECT_GT(half, 10);
}

TEST(MixedPrecisionGpu, Fp16MastersAndEmaStartFromTheFloat32Init) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device: the fp16 path runs only on a GPU";
  expect_masters_hold_the_float32_init(torch::Device(torch::kCUDA, 0), torch::kHalf);
}

TEST(MixedPrecision, TorsoDtypeIsChosenAtRunTime) {
  EXPECT_EQ(torso_dtype_for(torch::kCPU, true, "fp16"), torch::kFloat32);
  EXPECT_EQ(torso_dtype_for(torch::Device(torch::kCUDA, 0), true, "fp16"), torch::kHalf);
  EXPECT_EQ(torso_dtype_for(torch::Device(torch::kCUDA, 0), true, "bf16"), torch::kBFloat16);
  EXPECT_EQ(torso_dtype_for(torch::Device(torch::kCUDA, 0), false, "fp16"), torch::kFloat32);
}

TEST(MixedPrecisionGpu, Fp16TorsoOnCuda) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device: the fp16 path runs only on a GPU";
  Float32Reference r;
  auto& [model, x, t, ref] = r;
  torch::NoGradGuard ng;
  model->to(torch::kCUDA);
  model->convert_torso(torch::kHalf);
  auto half = model->forward(x.cuda(), t.cuda()).cpu();
  EXPECT_EQ(half.scalar_type(), torch::kFloat32);
  EXPECT_LT((half - ref).abs().max().item<float>(), 0.02f * ref.abs().max().item<float>());
}
