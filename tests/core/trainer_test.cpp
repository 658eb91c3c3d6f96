// Training: the methods against hand-computed cases and their resolution from the config, and the
// trainer's contracts (exact resume, corrupt-checkpoint fallback, NaN stop, learning on a tiny
// dataset).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>

#include "base/util/errors.h"
#include "base/util/npy.h"
#include "core/train/methods.h"
#include "core/train/trainer.h"
#include "core/util/checkpoint.h"
#include "core/util/tensor_npy.h"
#include "tests/support/test_support.h"
#include "tests/support/tiny_data.h"
#include "tests/support/tiny_unet.h"
#include "train_data/image_sources.h"

using namespace repro;
using repro::train_data::NpzImageSource;
using namespace repro::core;
namespace fs = std::filesystem;

namespace {

DiffusionConfig fixed_diffusion() {
  DiffusionConfig d;
  d.rescale_learned_sigmas = false;  // plain MSE
  return d;
}

MethodInputs inputs(int64_t n) {
  torch::manual_seed(3);
  MethodInputs in;
  in.x_start = torch::rand({n, 3, 4, 4}) * 2 - 1;
  in.t = torch::randint(0, 1000, {n}, torch::kInt64);
  in.noise = torch::randn({n, 3, 4, 4});
  in.xi = torch::randn({n, 3, 4, 4});
  in.gp_probe = torch::randn({n, 3, 4, 4});
  return in;
}

UNetConfig tiny_model() {
  UNetConfig c = test::tiny_unet(8, {1, 1});
  c.dropout = 0.1;  // exercises the global RNG on resume
  return c;
}

TrainConfig tiny_train() {
  TrainConfig t;
  t.method = "adm-ip";
  t.batch_size = 4;
  t.microbatch = 2;
  t.lr = 1e-3;
  t.ema_rate = {0.9, 0.99};
  t.iterations = 6;
  t.log_interval = 1;
  t.save_interval = 3;
  t.seed = 11;
  return t;
}

using test::write_dataset;

std::vector<torch::Tensor> snapshot(const Trainer& t) {
  std::vector<torch::Tensor> out;
  for (const auto& p : t.model()->parameters()) out.push_back(p.detach().clone());
  for (const auto& e : t.emas())
    for (const auto& s : e.shadow()) out.push_back(s.clone());
  return out;
}

using test::read_events;

// A single-process CPU run in `run_dir`.
TrainerOptions cpu_options(const std::string& run_dir, std::function<void(const std::string&)> log = {}) {
  TrainerOptions o;
  o.run_dir = run_dir;
  o.device = torch::kCPU;
  o.log = std::move(log);
  return o;
}

}  // namespace

TEST(Methods, AdmIpFeedsPerturbedInputAndKeepsEpsTarget) {
  GaussianDiffusion d(fixed_diffusion());
  auto in = inputs(3);
  TrainConfig c;
  c.method = "adm-ip";
  c.gamma = 0.1;
  torch::Tensor seen;
  ModelFn zero = [&](const torch::Tensor& x, const torch::Tensor&) {
    seen = x;
    return torch::zeros_like(x);
  };
  auto l = method_losses(TrainMethod::from_config(c), d, zero, in, {});
  EXPECT_TRUE(torch::allclose(seen, d.q_sample(in.x_start, in.t, in.noise + 0.1 * in.xi), 1e-6, 1e-6));
  EXPECT_TRUE(torch::allclose(l.mse, in.noise.pow(2).mean({1, 2, 3}), 1e-6, 1e-6));
  EXPECT_FALSE(l.penalty.defined());
  c.method = "adm";
  method_losses(TrainMethod::from_config(c), d, zero, in, {});
  EXPECT_TRUE(torch::allclose(seen, d.q_sample(in.x_start, in.t, in.noise), 1e-6, 1e-6));
}

TEST(Methods, DdpmYRegressesTheRenormalisedNoise) {
  GaussianDiffusion d(fixed_diffusion());
  auto in = inputs(3);
  TrainConfig c;
  c.method = "ddpm-y";
  c.gamma = 0.5;
  torch::Tensor seen;
  ModelFn zero = [&](const torch::Tensor& x, const torch::Tensor&) {
    seen = x;
    return torch::zeros_like(x);
  };
  auto l = method_losses(TrainMethod::from_config(c), d, zero, in, {});
  auto eps_prime = (in.noise + 0.5 * in.xi) / std::sqrt(1.25);
  EXPECT_TRUE(torch::allclose(seen, d.q_sample(in.x_start, in.t, in.noise + 0.5 * in.xi), 1e-6, 1e-6));
  EXPECT_TRUE(torch::allclose(l.mse, eps_prime.pow(2).mean({1, 2, 3}), 1e-6, 1e-6));
}

TEST(Methods, GradientPenaltyOfALinearModel) {
  // eps_theta(x) = a x: v^T d eps / d x = a v, so the penalty is lambda * mean_i a^2 ||v_i||^2.
  GaussianDiffusion d(fixed_diffusion());
  auto in = inputs(2);
  TrainConfig c;
  c.method = "adm-gp";
  c.lambda_gp = 0.01;
  auto a = torch::full({}, 0.7f, torch::requires_grad());
  ModelFn linear = [&](const torch::Tensor& x, const torch::Tensor&) { return a * x; };
  auto l = method_losses(TrainMethod::from_config(c), d, linear, in, {a});
  const double expect = 0.01 * 0.49 * in.gp_probe.pow(2).sum({1, 2, 3}).mean().item<double>();
  EXPECT_NEAR(l.penalty.item<double>(), expect, 1e-6 * expect);
  // Double backward: the penalty's gradient w.r.t. a is 2 a * (penalty / a^2) = 2 * penalty / a.
  auto g = torch::autograd::grad({l.penalty}, {a})[0];
  EXPECT_NEAR(g.item<double>(), 2 * expect / 0.7, 1e-5 * expect);
}

TEST(Methods, L2WeightDecayTerm) {
  GaussianDiffusion d(fixed_diffusion());
  auto in = inputs(2);
  TrainConfig c;
  c.method = "adm-wd";
  c.lambda_wd = 0.5;
  auto p1 = torch::tensor({1.0f, 2.0f}), p2 = torch::tensor({{3.0f}});
  ModelFn zero = [&](const torch::Tensor& x, const torch::Tensor&) { return torch::zeros_like(x); };
  auto l = method_losses(TrainMethod::from_config(c), d, zero, in, {p1, p2});
  EXPECT_FLOAT_EQ(l.penalty.item<float>(), 0.5f * (1 + 4 + 9));
  c.wd_mode = "decoupled";  // AdamW's decay instead: no term in the loss
  EXPECT_FALSE(method_losses(TrainMethod::from_config(c), d, zero, in, {p1, p2}).penalty.defined());
}

TEST(Methods, ResolvedOnceFromTheConfig) {
  TrainConfig c;
  c.method = "adm-wd";
  c.lambda_wd = 0.5;
  c.weight_decay = 0.25;
  TrainMethod m = TrainMethod::from_config(c);
  EXPECT_EQ(m.kind, Method::kAdmWd);
  EXPECT_EQ(m.lambda_l2, 0.5);
  EXPECT_EQ(m.weight_decay, 0.25);  // l2: the penalty, the optimizer keeps train.weight_decay
  c.wd_mode = "decoupled";
  m = TrainMethod::from_config(c);
  EXPECT_EQ(m.lambda_l2, 0.0);
  EXPECT_EQ(m.weight_decay, 0.5);
  c.method = "ddpm-y";
  m = TrainMethod::from_config(c);
  EXPECT_TRUE(m.perturbs_input());
  EXPECT_FALSE(m.probes_jacobian());
  EXPECT_EQ(m.weight_decay, 0.25);
  c.method = "adm-gp";
  EXPECT_TRUE(TrainMethod::from_config(c).probes_jacobian());
  c.method = "adm-xx";
  EXPECT_THROW(TrainMethod::from_config(c), ConfigError);
}

TEST(Trainer, ResumeContinuesExactly) {
  torch::set_num_threads(1);
  test::TempDir dir;
  const std::string data_path = write_dataset(dir, 10);  // 10 images, batch 4: epochs wrap mid-batch
  DiffusionConfig diffusion;
  diffusion.learn_sigma = true;
  // Two timesteps: the loss-second-moment sampler warms up (10 losses each) within the first
  // half, so its non-uniform weights must survive the resume too; the lr anneals throughout.
  diffusion.diffusion_steps = 2;
  auto full = tiny_train();
  full.iterations = 12;
  full.save_interval = 6;
  full.lr_anneal_steps = 20;

  NpzImageSource data_a(data_path, true, 11);
  Trainer straight(tiny_model(), diffusion, full, data_a, cpu_options(dir.file("a")));
  ASSERT_EQ(straight.run(false).status, TrainStatus::kCompleted);
  auto want = snapshot(straight);

  auto half = full;
  half.iterations = 6;
  {
    NpzImageSource data_b(data_path, true, 11);
    Trainer first(tiny_model(), diffusion, half, data_b, cpu_options(dir.file("b")));
    EXPECT_EQ(first.run(false).step, 6);
  }
  torch::manual_seed(999);  // whatever the process did in between must not matter
  NpzImageSource data_c(data_path, true, 11);
  Trainer second(tiny_model(), diffusion, full, data_c, cpu_options(dir.file("b")));
  auto r = second.run(true);
  EXPECT_EQ(r.resumed_from, 6);
  EXPECT_EQ(r.step, 12);
  auto got = snapshot(second);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) ASSERT_TRUE(torch::equal(got[i], want[i])) << "tensor " << i;
  // The model changed, and the EMAs lag behind it.
  EXPECT_FALSE(torch::equal(want[0], snapshot(second)[want.size() / 3]));
}

TEST(Trainer, CorruptCheckpointFallsBackToThePreviousOne) {
  torch::set_num_threads(1);
  test::TempDir dir;
  const std::string data_path = write_dataset(dir, 8);
  DiffusionConfig diffusion;
  diffusion.learn_sigma = true;
  auto cfg = tiny_train();
  {
    NpzImageSource data(data_path, true, 11);
    Trainer t(tiny_model(), diffusion, cfg, data, cpu_options(dir.file("run")));
    t.run(false);
  }
  const auto ckpt = fs::path(dir.file("run")) / "checkpoints";
  ASSERT_TRUE(fs::exists(ckpt / "model000003.pt"));
  ASSERT_TRUE(fs::exists(ckpt / "ema_0.99_000006.pt"));
  ASSERT_TRUE(fs::exists(ckpt / "model000006.pt.sha256"));
  fs::resize_file(ckpt / "model000006.pt", fs::file_size(ckpt / "model000006.pt") / 2);  // truncated
  std::vector<std::string> logs;
  NpzImageSource data(data_path, true, 11);
  Trainer t(tiny_model(), diffusion, cfg, data,
            cpu_options(dir.file("run"), [&](const std::string& s) { logs.push_back(s); }));
  auto r = t.run(true);
  EXPECT_EQ(r.resumed_from, 3);
  EXPECT_EQ(r.step, 6);
  bool warned = false;
  for (const auto& s : logs) warned |= s.find("model000006.pt does not match") != std::string::npos;
  EXPECT_TRUE(warned);
}

namespace {
// Yields NaN images from the given batch on: a stand-in for a diverging run.
class PoisonedSource : public DataSource {
 public:
  PoisonedSource(DataSource& inner, int poison_from) : inner_(inner), poison_from_(poison_from) {}
  torch::Tensor next_batch_rows(int64_t n, const std::vector<int64_t>& rows) override {
    auto x = inner_.next_batch_rows(n, rows);
    return ++calls_ >= poison_from_ ? x * std::nanf("") : x;
  }
  int64_t size() const override { return inner_.size(); }
  std::vector<int64_t> image_shape() const override { return inner_.image_shape(); }
  std::string state() const override { return inner_.state(); }
  void load_state(const std::string& s) override { inner_.load_state(s); }
  std::string describe() const override { return "poisoned " + inner_.describe(); }

 private:
  DataSource& inner_;
  int poison_from_;
  int calls_ = 0;
};
}  // namespace

TEST(Trainer, NonFiniteLossStopsAndKeepsTheLastGoodCheckpoint) {
  test::TempDir dir;
  const std::string data_path = write_dataset(dir, 8);
  DiffusionConfig diffusion;
  diffusion.learn_sigma = true;
  NpzImageSource inner(data_path, true, 11);
  PoisonedSource data(inner, 5);
  Trainer t(tiny_model(), diffusion, tiny_train(), data, cpu_options(dir.file("run")));
  auto r = t.run(false);
  EXPECT_EQ(r.status, TrainStatus::kDiverged);
  EXPECT_EQ(r.step, 4);
  EXPECT_NE(r.message.find("step 5"), std::string::npos) << r.message;
  const auto ckpt = fs::path(dir.file("run")) / "checkpoints";
  EXPECT_TRUE(fs::exists(ckpt / "state000003.json"));
  EXPECT_FALSE(fs::exists(ckpt / "state000004.json"));
  auto events = read_events(dir.file("run") + "/events.jsonl");
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(events[events.size() - 2]["type"], "diverged");
  EXPECT_EQ(events.back()["status"], "diverged");
  for (size_t i = 0; i < events.size(); ++i) EXPECT_EQ(events[i]["seq"], i);
}

TEST(Trainer, LearnsATinyDataset) {
  // Two images, uniform timesteps, plain eps-MSE: the loss must fall well below its start.
  test::TempDir dir;
  const std::string data_path = write_dataset(dir, 2);
  DiffusionConfig diffusion;
  diffusion.rescale_learned_sigmas = false;
  auto model = tiny_model();
  model.learn_sigma = false;
  model.dropout = 0;
  auto cfg = tiny_train();
  cfg.method = "adm";
  cfg.schedule_sampler = "uniform";
  cfg.batch_size = 16;
  cfg.microbatch = -1;
  cfg.lr = 2e-3;
  cfg.iterations = 60;
  cfg.save_interval = 1000;
  NpzImageSource data(data_path, false, 1);
  Trainer t(model, diffusion, cfg, data, cpu_options(dir.file("run")));
  ASSERT_EQ(t.run(false).status, TrainStatus::kCompleted);
  std::vector<double> losses;
  for (const auto& e : read_events(dir.file("run") + "/events.jsonl"))
    if (e["type"] == "log") losses.push_back(e["mse"].get<double>());
  ASSERT_EQ(losses.size(), 60u);
  double first = 0, last = 0;
  for (int i = 0; i < 10; ++i) first += losses[i] / 10, last += losses[losses.size() - 1 - i] / 10;
  EXPECT_LT(last, 0.5 * first) << "first " << first << " last " << last;
}

TEST(Trainer, HalfTorsoTrainsOnFloat32MastersAndSavesThem) {
  // bfloat16 on the CPU stands in for the CUDA fp16 path: the checkpoint holds the float32
  // masters exactly, not the rounded torso weights.
  test::TempDir dir;
  const std::string data_path = write_dataset(dir, 8);
  DiffusionConfig diffusion;
  diffusion.learn_sigma = true;
  auto cfg = tiny_train();
  cfg.iterations = 3;
  NpzImageSource data(data_path, true, 11);
  TrainerOptions o = cpu_options(dir.file("run"));
  o.precision = "bf16";
  Trainer t(tiny_model(), diffusion, cfg, data, o);
  ASSERT_EQ(t.run(false).status, TrainStatus::kCompleted);
  auto saved = read_state_dict(dir.file("run") + "/checkpoints/model000003.pt");
  auto model_params = t.model()->parameters();
  int half_tensors = 0, finer_than_half = 0;
  for (size_t i = 0; i < saved.size(); ++i) {
    EXPECT_EQ(saved[i].second.scalar_type(), torch::kFloat32) << saved[i].first;
    if (model_params[i].scalar_type() != torch::kBFloat16) continue;
    ++half_tensors;
    // The torso holds exactly the saved masters rounded to bfloat16 ...
    EXPECT_TRUE(torch::equal(saved[i].second.to(torch::kBFloat16), model_params[i])) << saved[i].first;
    // ... and the file holds more than the rounded values.
    finer_than_half += !torch::equal(saved[i].second, model_params[i].to(torch::kFloat32));
  }
  EXPECT_GT(half_tensors, 0);
  EXPECT_GT(finer_than_half, 0);
}

TEST(Trainer, NonFiniteGradientStopsTheRun) {
  // An overflowing weight-decay term: the loss terms stay finite, the gradient does not.
  test::TempDir dir;
  const std::string data_path = write_dataset(dir, 8);
  DiffusionConfig diffusion;
  diffusion.learn_sigma = true;
  auto cfg = tiny_train();
  cfg.method = "adm-wd";
  cfg.lambda_wd = 1e38;
  NpzImageSource data(data_path, true, 11);
  Trainer t(tiny_model(), diffusion, cfg, data, cpu_options(dir.file("run")));
  auto r = t.run(false);
  EXPECT_EQ(r.status, TrainStatus::kDiverged);
  EXPECT_EQ(r.step, 0);
  EXPECT_NE(r.message.find("step 1"), std::string::npos) << r.message;
  EXPECT_FALSE(fs::exists(dir.file("run") + "/checkpoints/state000001.json"));
}

TEST(Trainer, AnnealingStopsAtLrAnnealSteps) {
  test::TempDir dir;
  const std::string data_path = write_dataset(dir, 8);
  DiffusionConfig diffusion;
  diffusion.learn_sigma = true;
  auto cfg = tiny_train();
  cfg.lr = 0.01;
  cfg.lr_anneal_steps = 4;
  cfg.iterations = 10;
  NpzImageSource data(data_path, true, 11);
  Trainer t(tiny_model(), diffusion, cfg, data, cpu_options(dir.file("run")));
  EXPECT_EQ(t.run(false).step, 4);
  std::vector<double> lrs;
  for (const auto& e : read_events(dir.file("run") + "/events.jsonl"))
    if (e["type"] == "log") lrs.push_back(e["lr"].get<double>());
  // Step s (1-based in the log) trains with lr * (1 - max(s - 2, 0) / 4), as the reference.
  ASSERT_EQ(lrs.size(), 4u);
  EXPECT_DOUBLE_EQ(lrs[0], 0.01);
  EXPECT_DOUBLE_EQ(lrs[1], 0.01);
  EXPECT_DOUBLE_EQ(lrs[2], 0.01 * 0.75);
  EXPECT_DOUBLE_EQ(lrs[3], 0.01 * 0.5);
}
