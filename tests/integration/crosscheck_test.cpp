// Cross-checks against an independent implementation: tests/python/adm_replica.py, a PyTorch
// replica written from paper-spec.md and run by Debian's python3-torch. Python writes the
// weights (torch.save of an OrderedDict state dict, as the reference does), inputs and expected
// outputs; the C++ side must load the checkpoint as is and reproduce the numbers. The reverse
// direction (a checkpoint written by C++, loaded by Python with load_state_dict(strict=True)) is
// checked too. Tolerances are float32 round-off over a few dozen layers.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>
#include <sstream>

#include "base/util/npy.h"
#include "base/util/strings.h"
#include "config/model_config_yaml.h"
#include "core/diffusion/gaussian_diffusion.h"
#include "core/nn/unet.h"
#include "core/util/checkpoint.h"
#include "core/util/tensor_npy.h"
#include "tests/support/replica_fixtures.h"
#include "tests/support/test_support.h"

using namespace repro;
using namespace repro::core;
using test::expect_close;
using test::KV;
using test::make_fixtures;

namespace {

UNetConfig model_config_of(const std::string& yaml_path) { return config::read_model_file(yaml_path).model; }
DiffusionConfig diffusion_config_of(const std::string& yaml_path) {
  return config::read_model_file(yaml_path).diffusion;
}

std::string to_yaml(const KV& model, const KV& diffusion) {
  std::string s = "model:\n";
  for (const auto& [k, v] : model) s += "  " + k + ": " + v + "\n";
  s += "diffusion:\n";
  for (const auto& [k, v] : diffusion) s += "  " + k + ": " + v + "\n";
  if (diffusion.empty()) s += "  diffusion_steps: 1000\n";
  return s;
}

void run_repro(const std::string& args) {
  std::string out;
  ASSERT_EQ(test::repro_cli(args, &out), 0) << "repro " << args << "\n" << out;
}

const KV& kPaperLike = test::paper_like_model();
const KV kLegacy = {{"image_size", "16"},
                    {"num_channels", "32"},
                    {"channel_mult", "[1, 2]"},
                    {"num_res_blocks", "2"},
                    {"attention_resolutions", "[8]"},
                    {"num_heads", "2"},
                    {"use_scale_shift_norm", "false"},
                    {"resblock_updown", "false"},
                    {"use_new_attention_order", "false"},
                    {"learn_sigma", "false"}};
const KV kPooledConditional = {{"image_size", "16"},
                               {"num_channels", "64"},
                               {"channel_mult", "[1, 1.5]"},
                               {"num_res_blocks", "1"},
                               {"attention_resolutions", "[16, 8]"},
                               {"num_heads", "4"},
                               {"num_heads_upsample", "2"},
                               {"conv_resample", "false"},
                               {"resblock_updown", "false"},
                               {"num_classes", "3"},
                               {"learn_sigma", "true"}};

struct ForwardCase {
  const char* name;
  KV config;
};

class ForwardCrossCheck : public ::testing::TestWithParam<ForwardCase> {};

}  // namespace

TEST_P(ForwardCrossCheck, ReferenceCheckpointLoadsAndForwardMatches) {
  const auto& c = GetParam();
  test::TempDir dir;
  const std::string d = dir.path().string();
  make_fixtures("model " + d + " --config " + shell_quote(test::kv_json(c.config)) + " --seed 3 --batch 3");
  std::ofstream(dir.file("m.yaml")) << to_yaml(c.config, {});

  // Key names and shapes, in order, equal the replica's state_dict.
  auto file = model_config_of(dir.file("m.yaml"));
  UNetModel model(file);
  std::ifstream keys(dir.file("keys.txt"));
  std::vector<std::string> want_keys;
  for (std::string line; std::getline(keys, line);) want_keys.push_back(line);
  std::vector<std::string> got_keys;
  for (const auto& [name, t] : module_state(*model)) {
    std::string s = name + " ";
    for (int64_t i = 0; i < t.dim(); ++i) s += (i ? "x" : "") + std::to_string(t.size(i));
    got_keys.push_back(s);
  }
  EXPECT_EQ(got_keys.size(), want_keys.size());
  for (size_t i = 0; i < std::min(got_keys.size(), want_keys.size()); ++i)
    ASSERT_EQ(got_keys[i], want_keys[i]) << "state-dict entry " << i;

  std::string extra = file.num_classes > 0 ? " --y " + dir.file("y.npy") : "";
  run_repro("model forward --config " + dir.file("m.yaml") + " --checkpoint " + dir.file("model.pt") + " --x " +
            dir.file("x.npy") + " --t " + dir.file("t.npy") + " --out " + dir.file("ours.npy") + " --threads 2" +
            extra);
  auto want = read_npy_tensor(dir.file("out.npy"));
  auto got = read_npy_tensor(dir.file("ours.npy"));
  EXPECT_GT(want.abs().max().item<float>(), 0.1f);  // randomised weights: a non-trivial output
  expect_close(got, want, 1e-4, 1e-4, c.name);
}

INSTANTIATE_TEST_SUITE_P(Configs, ForwardCrossCheck,
                         ::testing::Values(ForwardCase{"paper_like", kPaperLike}, ForwardCase{"legacy", kLegacy},
                                           ForwardCase{"pooled_conditional", kPooledConditional}),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(CrossCheck, OurCheckpointLoadsInPythonStrict) {
  test::TempDir dir;
  std::ofstream(dir.file("m.yaml")) << to_yaml(kPaperLike, {});
  UNetModel model(model_config_of(dir.file("m.yaml")));
  {
    // Non-zero everywhere so the comparison is not vacuous.
    torch::NoGradGuard ng;
    torch::manual_seed(5);
    for (auto& p : model->parameters())
      p.copy_(torch::randn_like(p) * (p.dim() > 1 ? 1.0 / std::sqrt(p[0].numel()) : 0.1));
  }
  model->eval();
  save_checkpoint(*model, dir.file("ours.pt"));
  auto x = torch::randn({2, 3, 32, 32});
  auto t = torch::tensor({1, 998}, torch::kInt64);
  write_npy(dir.file("x.npy"), to_npy(x));
  write_npy(dir.file("t.npy"), to_npy(t));
  {
    torch::NoGradGuard ng;
    write_npy(dir.file("ours_out.npy"), to_npy(model->forward(x, t)));
  }
  std::string script =
      "import json, sys, collections, numpy as np, torch\n"
      "sys.path.insert(0, " +
      shell_quote(test::source_dir() + "/tests/python") +
      ")\n"
      "import make_fixtures as M\n"
      "cfg = M._resolve(" +
      shell_quote(test::kv_json(kPaperLike)) +
      ", M.UNET_DEFAULTS, 'config')\n"
      "model = M.build_model(cfg).eval()\n"
      "sd = torch.load('ours.pt')\n"
      "assert isinstance(sd, collections.OrderedDict), type(sd)\n"
      "model.load_state_dict(sd, strict=True)\n"
      "with torch.no_grad():\n"
      "    out = model(torch.from_numpy(np.load('x.npy')), torch.from_numpy(np.load('t.npy')))\n"
      "np.save('py_out.npy', out.numpy())\n";
  ASSERT_EQ(test::run_python(script, dir.path()), 0);
  expect_close(read_npy_tensor(dir.file("ours_out.npy")), read_npy_tensor(dir.file("py_out.npy")), 1e-4, 1e-4,
               "C++ checkpoint in the Python replica");
}

namespace {
struct LossCase {
  const char* name;
  KV model;
  KV diffusion;
  double gamma;
};
class LossCrossCheck : public ::testing::TestWithParam<LossCase> {};
}  // namespace

TEST_P(LossCrossCheck, TermsMatchTheReplica) {
  const auto& c = GetParam();
  test::TempDir dir;
  const std::string d = dir.path().string();
  KV diffusion = c.diffusion;  // learn_sigma follows the model, as in the YAML file
  for (const auto& [k, v] : c.model)
    if (k == "learn_sigma") diffusion.emplace_back(k, v);
  std::string gamma = c.gamma > 0 ? " --gamma " + std::to_string(c.gamma) : "";
  make_fixtures("loss " + d + " --config " + shell_quote(test::kv_json(c.model)) + " --diffusion " +
                shell_quote(test::kv_json(diffusion)) + " --seed 4 --batch 4" + gamma);
  std::ofstream(dir.file("m.yaml")) << to_yaml(c.model, c.diffusion);
  std::string pert = c.gamma > 0 ? " --perturbation " + dir.file("perturbation.npy") + gamma : "";
  run_repro("model loss --config " + dir.file("m.yaml") + " --checkpoint " + dir.file("model.pt") + " --x0 " +
            dir.file("x0.npy") + " --t " + dir.file("t.npy") + " --noise " + dir.file("noise.npy") + pert + " --out " +
            dir.file("ours.npz") + " --threads 2");
  auto want = read_npz(dir.file("terms.npz"));
  auto got = read_npz(dir.file("ours.npz"));
  for (const auto& [key, arr] : want) {
    ASSERT_TRUE(got.count(key)) << c.name << ": missing " << key;
    expect_close(to_tensor(got.at(key)), to_tensor(arr), 1e-3, 1e-4, std::string(c.name) + "." + key);
  }
  EXPECT_EQ(got.size(), want.size()) << c.name;
}

INSTANTIATE_TEST_SUITE_P(
    Losses, LossCrossCheck,
    ::testing::Values(
        LossCase{"hybrid_ip", kPaperLike, {{"rescale_learned_sigmas", "true"}}, 0.1},
        LossCase{"hybrid_respaced",
                 kPaperLike,
                 {{"timestep_respacing", "\"100\""}, {"rescale_learned_sigmas", "true"}},
                 0.0},
        LossCase{
            "mse_fixed_linear", kLegacy, {{"noise_schedule", "\"linear\""}, {"rescale_learned_sigmas", "false"}}, 0.2},
        LossCase{"kl", kPaperLike, {{"use_kl", "true"}}, 0.0},
        LossCase{"xstart", kLegacy, {{"predict_xstart", "true"}, {"sigma_small", "true"}}, 0.0},
        LossCase{"learned_prevx_kl",
                 kPaperLike,
                 {{"model_var_type", "\"learned\""}, {"model_mean_type", "\"previous_x\""}, {"loss_type", "\"kl\""}},
                 0.1},
        LossCase{"learned_mse", kPaperLike, {{"model_var_type", "\"learned\""}, {"loss_type", "\"mse\""}}, 0.0}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

namespace {
struct PmvCase {
  const char* name;
  KV diffusion;
  bool learn_sigma;
};
class PmvCrossCheck : public ::testing::TestWithParam<PmvCase> {};
}  // namespace

TEST_P(PmvCrossCheck, ScheduleAndReverseDistributionMatch) {
  const auto& c = GetParam();
  test::TempDir dir;
  make_fixtures("pmv " + dir.path().string() + " --diffusion " + shell_quote(test::kv_json(c.diffusion)) +
                " --seed 6 --batch 4 --image-size 8 --learn-sigma " + (c.learn_sigma ? "1" : "0"));
  std::ofstream(dir.file("m.yaml")) << to_yaml(
      {{"image_size", "32"}, {"num_channels", "32"}, {"learn_sigma", c.learn_sigma ? "true" : "false"}}, c.diffusion);
  auto cfg = diffusion_config_of(dir.file("m.yaml"));
  GaussianDiffusion d(cfg);
  auto sched = read_npz(dir.file("schedule.npz"));
  auto check_vec = [&](const std::string& key, const std::vector<double>& ours) {
    auto want = as_float64(sched.at(key));
    ASSERT_EQ(want.size(), ours.size()) << key;
    for (size_t i = 0; i < ours.size(); ++i)
      ASSERT_NEAR(ours[i], want[i], 1e-12 * std::max(1.0, std::abs(want[i]))) << key << "[" << i << "]";
  };
  check_vec("betas", d.schedule().betas);
  check_vec("alphas_cumprod", d.schedule().alphas_cumprod);
  check_vec("posterior_variance", d.schedule().posterior_variance);
  check_vec("posterior_log_variance_clipped", d.schedule().posterior_log_variance_clipped);
  check_vec("posterior_mean_coef1", d.schedule().posterior_mean_coef1);
  check_vec("posterior_mean_coef2", d.schedule().posterior_mean_coef2);
  auto map = as_int64(sched.at("timestep_map"));
  EXPECT_EQ(std::vector<int>(map.begin(), map.end()), d.timestep_map());

  auto out = d.p_mean_variance(read_npy_tensor(dir.file("model_output.npy")), read_npy_tensor(dir.file("x_t.npy")),
                               read_npy_tensor(dir.file("t.npy")), true);
  auto want = read_npz(dir.file("pmv.npz"));
  expect_close(out.mean, to_tensor(want.at("mean")), 1e-4, 1e-5, std::string(c.name) + ".mean");
  expect_close(out.variance, to_tensor(want.at("variance")), 1e-4, 1e-9, std::string(c.name) + ".variance");
  expect_close(out.log_variance, to_tensor(want.at("log_variance")), 1e-5, 1e-5, std::string(c.name) + ".log_variance");
  expect_close(out.pred_xstart, to_tensor(want.at("pred_xstart")), 1e-4, 1e-5, std::string(c.name) + ".pred_xstart");
}

INSTANTIATE_TEST_SUITE_P(
    Reverse, PmvCrossCheck,
    ::testing::Values(PmvCase{"learned_range_100", {{"timestep_respacing", "\"100\""}}, true},
                      PmvCase{"learned_range_full", {}, true},
                      PmvCase{"fixed_large_ddim", {{"timestep_respacing", "\"ddim25\""}}, false},
                      PmvCase{"learned_previous_x",
                              {{"model_var_type", "\"learned\""},
                               {"model_mean_type", "\"previous_x\""},
                               {"timestep_respacing", "\"80\""}},
                              true},
                      PmvCase{"fixed_small_xstart_linear",
                              {{"sigma_small", "true"}, {"predict_xstart", "true"}, {"noise_schedule", "\"linear\""}},
                              false}),
    [](const auto& param_info) { return std::string(param_info.param.name); });
