// Training numerics of the DDIM setup (Table 5): train.loss_reduction "sum" against a closed form
// and against ermongroup/ddim's noise_estimation_loss run by Debian's python3-torch, where "sum" is
// allowed, and train.grad_clip against torch.nn.utils.clip_grad_norm_ on the unscaled float32
// master gradients.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "base/util/errors.h"
#include "base/util/npy.h"
#include "config/strict_yaml.h"
#include "config/train_config_yaml.h"
#include "core/train/methods.h"
#include "core/train/mixed_precision.h"
#include "core/train/trainer.h"
#include "core/util/tensor_npy.h"
#include "tests/support/test_support.h"
#include "tests/support/tiny_data.h"
#include "tests/support/tiny_unet.h"
#include "train_data/image_sources.h"

using namespace repro;
using namespace repro::core;

namespace {

DiffusionConfig ddim_diffusion() {
  DiffusionConfig d;
  d.noise_schedule = "linear";  // ddim's configs/cifar10.yml: linear 1e-4 .. 0.02, T = 1000
  d.rescale_learned_sigmas = false;
  return d;
}

TrainMethod method_of(const std::string& name, const std::string& reduction, double gamma = 0.0) {
  TrainConfig c;
  c.method = name;
  c.gamma = gamma;
  c.loss_reduction = reduction;
  return TrainMethod::from_config(c);
}

struct Inputs {
  MethodInputs in;
  Inputs() {
    torch::manual_seed(21);
    in.x_start = torch::rand({3, 3, 4, 4}) * 2 - 1;
    in.t = torch::tensor({0, 417, 999}, torch::kInt64);
    in.noise = torch::randn({3, 3, 4, 4});
    in.xi = torch::randn({3, 3, 4, 4});
  }
};

// The model the Python side can compute too: eps_theta(x_t) = 0.3 x_t.
const ModelFn kLinear = [](const torch::Tensor& x, const torch::Tensor&) { return 0.3 * x; };

std::string flow_yaml(const std::string& model, const std::string& train) {
  const std::string tiny = "image_size: 8, num_channels: 32, channel_mult: [1, 1], attention_resolutions: [4]";
  return "model: {" + tiny + ", " + model + "}\ndiffusion: {noise_schedule: linear}\ntrain: {" + train +
         "}\ndata: {path: d.npz}\n";
}

std::string parse_error(const std::string& yaml) {
  return test::error_message([&] { config::parse_train_yaml(config::load_yaml_string(yaml, "t.yaml"), "t.yaml", ""); });
}

}  // namespace

TEST(LossReduction, SumIsTheMeanTimesCHWInClosedForm) {
  // A zero model regresses eps = (i + 1) / 2 everywhere in image i: the squared error sums to
  // 48 (i + 1)^2 / 4 over 3 x 4 x 4 pixels, and averages to (i + 1)^2 / 4.
  GaussianDiffusion d(ddim_diffusion());
  Inputs s;
  for (int64_t i = 0; i < 3; ++i) s.in.noise[i].fill_(0.5 * static_cast<double>(i + 1));
  ModelFn zero = [](const torch::Tensor& x, const torch::Tensor&) { return torch::zeros_like(x); };
  const auto sum = method_losses(method_of("adm", "sum"), d, zero, s.in, {});
  const auto mean = method_losses(method_of("adm", "mean"), d, zero, s.in, {});
  for (int64_t i = 0; i < 3; ++i) {
    const double sq = 0.25 * static_cast<double>((i + 1) * (i + 1));
    EXPECT_DOUBLE_EQ(sum.loss[i].item<double>(), 48 * sq) << i;
    EXPECT_DOUBLE_EQ(sum.mse[i].item<double>(), 48 * sq) << i;
    EXPECT_DOUBLE_EQ(mean.loss[i].item<double>(), sq) << i;
  }
  EXPECT_FALSE(sum.vb.defined());
}

TEST(LossReduction, SumMatchesDdimNoiseEstimationLossInPython) {
  test::TempDir dir;
  GaussianDiffusion d(ddim_diffusion());
  Inputs s;
  write_npz(dir.file("in.npz"),
            {{"x0", to_npy(s.in.x_start)}, {"e", to_npy(s.in.noise)}, {"xi", to_npy(s.in.xi)}, {"t", to_npy(s.in.t)}});
  // ermongroup/ddim functions/losses.py noise_estimation_loss (keepdim: per image), with DDIM-IP's
  // input (e + gamma xi) as paper-spec §2.5 gives it; betas as runners/diffusion.py builds them.
  ASSERT_EQ(test::run_python("import numpy as np, torch\n"
                             "a = np.load('in.npz'); x0, e, xi = (torch.from_numpy(a[k]) for k in ('x0', 'e', 'xi'))\n"
                             "t = torch.from_numpy(a['t'])\n"
                             "b = torch.from_numpy(np.linspace(1e-4, 0.02, 1000, dtype=np.float64)).float()\n"
                             "def loss(noise):\n"
                             "    at = (1 - b).cumprod(dim=0).index_select(0, t).view(-1, 1, 1, 1)\n"
                             "    x = x0 * at.sqrt() + noise * (1.0 - at).sqrt()\n"
                             "    return (e - 0.3 * x).square().sum(dim=(1, 2, 3))\n"
                             "np.savez('out.npz', adm=loss(e).numpy(), ip=loss(e + 0.1 * xi).numpy(),\n"
                             "         batch=np.float32(loss(e).mean(dim=0)))\n",
                             dir.path()),
            0);
  auto out = read_npz(dir.file("out.npz"));
  auto want = [&](const char* k) { return to_tensor(out.at(k), k).to(torch::kFloat64); };
  const auto adm = method_losses(method_of("adm", "sum"), d, kLinear, s.in, {});
  const auto ip = method_losses(method_of("adm-ip", "sum", 0.1), d, kLinear, s.in, {});
  // ddim's alpha-bar is a float32 cumprod, ours float64 cast once: float32 round-off apart.
  EXPECT_TRUE(torch::allclose(adm.loss.to(torch::kFloat64), want("adm"), 1e-5, 1e-6)) << adm.loss << want("adm");
  EXPECT_TRUE(torch::allclose(ip.loss.to(torch::kFloat64), want("ip"), 1e-5, 1e-6)) << ip.loss << want("ip");
  EXPECT_NEAR(adm.loss.mean().item<double>(), want("batch").item<double>(), 1e-5 * want("batch").item<double>());
  // The IP input really differs from ADM's here, so the comparison above tells them apart.
  EXPECT_GT((adm.loss - ip.loss).abs().max().item<double>(), 1e-3);
}

TEST(LossReduction, SumWithAVbTermIsRefused) {
  DiffusionConfig learned = ddim_diffusion();
  learned.learn_sigma = true;
  GaussianDiffusion d(learned);
  Inputs s;
  ModelFn two_c = [](const torch::Tensor& x, const torch::Tensor&) { return torch::cat({x, x}, 1); };
  const std::string msg = test::error_message([&] { method_losses(method_of("adm", "sum"), d, two_c, s.in, {}); });
  EXPECT_NE(msg.find("train.loss_reduction"), std::string::npos) << msg;
  EXPECT_NO_THROW(method_losses(method_of("adm", "mean"), d, two_c, s.in, {}));
}

TEST(LossReduction, ConfigFilesRefuseSumWhereItHasNoMeaning) {
  EXPECT_EQ(parse_error(flow_yaml("learn_sigma: false", "method: adm-ip, loss_reduction: sum")), "");
  const std::string learned = parse_error(flow_yaml("learn_sigma: true", "method: adm-ip, loss_reduction: sum"));
  EXPECT_NE(learned.find("train.loss_reduction"), std::string::npos) << learned;
  EXPECT_NE(learned.find("learn_sigma"), std::string::npos) << learned;
  EXPECT_NE(learned.find("t.yaml"), std::string::npos) << learned;
  const std::string gp = parse_error(flow_yaml("learn_sigma: false", "method: adm-gp, loss_reduction: sum"));
  EXPECT_NE(gp.find("train.loss_reduction"), std::string::npos) << gp;
  const std::string bad = parse_error(flow_yaml("learn_sigma: false", "loss_reduction: total"));
  EXPECT_NE(bad.find("expected mean or sum, got 'total'"), std::string::npos) << bad;
}

TEST(GradClip, MatchesTorchClipGradNormOnTheUnscaledMasterGradients) {
  // bfloat16 torso with loss scaling 2^10 stands in for fp16 on the CPU: the clip must see the
  // unscaled float32 masters, whose norm is 2^10 times smaller than the model's gradients'.
  UNetConfig cfg = test::tiny_unet(8, {1, 1});
  cfg.learn_sigma = false;
  torch::manual_seed(4);
  UNetModel model(cfg);
  MixedPrecision mp(model, torch::kBFloat16, /*loss_scaling=*/true, 10.0, 1e-3);
  auto out = model->forward(torch::randn({2, 3, 8, 8}), torch::tensor({3, 700}, torch::kInt64));
  mp.scale_loss(out.pow(2).sum()).backward();
  double norm = 0;
  ASSERT_TRUE(mp.grads_to_master(&norm));
  const double max_norm = norm / 3;  // clips
  test::TempDir dir;
  std::vector<std::pair<std::string, NpyArray>> grads = {
      {"max_norm", to_npy(torch::tensor(max_norm, torch::kFloat64))}};
  for (size_t i = 0; i < mp.master_params().size(); ++i)
    grads.emplace_back("g" + std::to_string(i), to_npy(mp.master_params()[i].grad()));
  write_npz(dir.file("grads.npz"), grads);
  ASSERT_EQ(test::run_python("import numpy as np, torch\n"
                             "a = np.load('grads.npz'); n = len(a.files) - 1\n"
                             "ps = [torch.nn.Parameter(torch.zeros(a[f'g{i}'].shape)) for i in range(n)]\n"
                             "for i, p in enumerate(ps): p.grad = torch.from_numpy(a[f'g{i}'])\n"
                             "total = torch.nn.utils.clip_grad_norm_(ps, float(a['max_norm']))\n"
                             "np.savez('clipped.npz', total=np.float64(total), "
                             "**{f'g{i}': p.grad.numpy() for i, p in enumerate(ps)})\n",
                             dir.path()),
            0);
  auto want = read_npz(dir.file("clipped.npz"));
  const double total = mp.clip_master_grads(max_norm);
  EXPECT_NEAR(total, to_tensor(want.at("total"), "total").item<double>(), 1e-6 * total);
  EXPECT_NEAR(total, norm, 1e-5 * norm);
  double clipped_sq = 0;
  for (size_t i = 0; i < mp.master_params().size(); ++i) {
    const auto& g = mp.master_params()[i].grad();
    EXPECT_TRUE(torch::allclose(g, to_tensor(want.at("g" + std::to_string(i)), "g"), 1e-6, 1e-12)) << i;
    clipped_sq += g.to(torch::kFloat64).pow(2).sum().item<double>();
  }
  EXPECT_NEAR(std::sqrt(clipped_sq), max_norm, 1e-5 * max_norm);
  // Under the limit nothing changes.
  std::vector<torch::Tensor> before;
  for (const auto& p : mp.master_params()) before.push_back(p.grad().clone());
  mp.clip_master_grads(10 * max_norm);
  for (size_t i = 0; i < before.size(); ++i) EXPECT_TRUE(torch::equal(mp.master_params()[i].grad(), before[i])) << i;
}

TEST(LossReduction, TheTrainerSumsOverThePixelsWhenAsked) {
  // The same first step (weights, images, t, noise) under both reductions: its logged loss is the
  // batch mean of the per-image losses, so sum / mean = C x H x W = 3 x 8 x 8.
  test::TempDir dir;
  const std::string data = test::write_dataset(dir, 6);
  UNetConfig model = test::tiny_unet(8, {1, 1});
  model.learn_sigma = false;
  DiffusionConfig diffusion = ddim_diffusion();
  auto first_loss = [&](const std::string& reduction) {
    TrainConfig c;
    c.method = "adm-ip";
    c.loss_reduction = reduction;
    c.optimizer = "adam";
    c.grad_clip = 1.0;
    c.batch_size = 4;
    c.iterations = 1;
    c.log_interval = 1;
    c.schedule_sampler = "uniform";
    train_data::NpzImageSource source(data, true, 2);
    TrainerOptions o;
    o.run_dir = dir.file(reduction);
    Trainer trainer(model, diffusion, c, source, o);
    EXPECT_EQ(trainer.run(false).status, TrainStatus::kCompleted);
    for (const auto& e : test::read_events(dir.file(reduction + "/events.jsonl")))
      if (e.at("type") == "log") return e.at("loss").get<double>();
    return std::nan("");
  };
  const double mean = first_loss("mean"), sum = first_loss("sum");
  EXPECT_NEAR(sum / mean, 192.0, 192.0 * 1e-5) << sum << " / " << mean;
}
