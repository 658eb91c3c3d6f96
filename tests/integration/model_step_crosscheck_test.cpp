// `repro model step` against the Python replica (tests/python/adm_replica.py p_sample /
// ddim_sample, written from guided-diffusion's and ADM-ES's maths): Python writes the weights
// (torch.save of the state dict), x_t, the respaced indices, z and the expected sample and
// pred_xstart; the binary must reproduce them from the files alone. Every case is a learned-range
// model on a respaced chain, each with Epsilon Scaling off, uniform (lambda 1.017) and linear in
// the index (lambda_i = 1 + 0.0003 i, rows at different i). Tolerance 2e-5 + 1e-5 |want|: the
// forward pass's float32 round-off carried through sqrt(1 / abar - 1) <= 2.2 at the indices used
// (measured: 5e-6 on pred_xstart, 4e-7 on sample). ES moves the sample by 3e-4 (index 0) to 3e-2,
// so a step that ignored it fails; each case checks that it did move.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <fstream>
#include <iterator>
#include <sstream>

#include "base/util/exit_code.h"
#include "base/util/npy.h"
#include "base/util/strings.h"
#include "core/util/tensor_npy.h"
#include "tests/support/replica_fixtures.h"
#include "tests/support/test_support.h"

using namespace repro;
using namespace repro::core;
using test::KV;
using test::make_fixtures;

namespace {

constexpr double kRtol = 1e-5, kAtol = 2e-5;

// The paper's architecture options at toy size, learned range.
const KV& kModel = test::paper_like_model();

// The model file the binary reads: no respacing (the step's --steps gives it).
std::string model_yaml(const KV& model, const std::string& diffusion_extra = "") {
  std::string s = "model:\n";
  for (const auto& [k, v] : model) s += "  " + k + ": " + v + "\n";
  return s + "diffusion:\n  diffusion_steps: 1000\n" + diffusion_extra;
}

void expect_close(const torch::Tensor& got, const torch::Tensor& want, const std::string& what) {
  test::expect_close(got, want, kRtol, kAtol, what);
}

struct EpsScaleCase {
  const char* option;  // --eps-scale value; "" = the option left out
  double b, k;
};
const EpsScaleCase kScales[] = {{"", 1.0, 0.0}, {"1.017", 1.017, 0.0}, {"1,0.0003", 1.0, 0.0003}};

struct StepCase {
  const char* name;
  const char* steps;  // the respaced chain
  bool ddim;
  double eta;
  std::vector<int> t;  // respaced indices, one per sample
};

class ModelStepCrossCheck : public ::testing::TestWithParam<StepCase> {};

}  // namespace

TEST_P(ModelStepCrossCheck, SampleAndPredXstartMatchTheReplica) {
  const auto& c = GetParam();
  test::TempDir dir;
  std::string t_list;
  for (size_t i = 0; i < c.t.size(); ++i) t_list += (i ? "," : "") + std::to_string(c.t[i]);
  KV diffusion = {{"learn_sigma", "true"}, {"timestep_respacing", "\"" + std::string(c.steps) + "\""}};
  std::ostringstream eta;
  eta << c.eta;
  make_fixtures("step " + dir.path().string() + " --config " + shell_quote(test::kv_json(kModel)) + " --diffusion " +
                shell_quote(test::kv_json(diffusion)) + " --seed 8 --batch " + std::to_string(c.t.size()) + " --t " +
                t_list + " --sampler " + (c.ddim ? "ddim" : "ancestral") + " --eta " + eta.str() +
                " --eps-scales '1;1.017;1,0.0003'");
  std::ofstream(dir.file("m.yaml")) << model_yaml(kModel);
  const std::string common = "model step --config " + dir.file("m.yaml") + " --checkpoint " + dir.file("model.pt") +
                             " --x " + dir.file("x.npy") + " --t " + dir.file("t.npy") + " --noise " +
                             dir.file("noise.npy") + " --steps " + c.steps +
                             (c.ddim ? " --ddim --eta " + eta.str() : std::string()) + " --threads 2";
  torch::Tensor unscaled;
  for (size_t j = 0; j < std::size(kScales); ++j) {
    const auto& s = kScales[j];
    const std::string out = dir.file("ours_" + std::to_string(j) + ".npz");
    std::string log;
    const std::string option = *s.option ? std::string(" --eps-scale ") + s.option : "";
    ASSERT_EQ(test::repro_cli(common + option + " --out " + out, &log), 0) << log;
    auto want = read_npz(dir.file("step_" + std::to_string(j) + ".npz"));
    auto got = read_npz(out);
    ASSERT_EQ(got.size(), 2u);
    const std::string what = std::string(c.name) + " eps scale '" + s.option + "'";
    for (const char* key : {"sample", "pred_xstart"}) {
      ASSERT_TRUE(got.count(key)) << what << ": no " << key;
      EXPECT_EQ(got.at(key).descr, "<f4") << what << "." << key;
      expect_close(to_tensor(got.at(key)), to_tensor(want.at(key)), what + "." + key);
    }
    // The comparison has teeth: a scale != 1 at some row moves the step past the tolerance, a
    // scale of 1 at every row (1 + 0.0003 i at i = 0) leaves it bit for bit.
    const auto sample = to_tensor(got.at("sample"));
    if (j == 0) {
      unscaled = sample;
      continue;
    }
    bool all_one = true;
    for (int i : c.t) all_one = all_one && s.b + s.k * i == 1.0;
    if (all_one)
      EXPECT_TRUE(torch::equal(sample, unscaled)) << what;
    else
      EXPECT_GT((sample - unscaled).abs().max().item<double>(), 5 * kAtol) << what;
  }
}

INSTANTIATE_TEST_SUITE_P(Steps, ModelStepCrossCheck,
                         ::testing::Values(StepCase{"ancestral_mid", "100", false, 0.0, {50, 37, 71}},
                                           StepCase{"ancestral_last", "100", false, 0.0, {0, 0}},
                                           StepCase{"ddim_eta0", "ddim50", true, 0.0, {25, 12, 40}},
                                           StepCase{"ddim_eta05", "ddim50", true, 0.5, {25, 0, 40}}),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(ModelStep, LastStepAddsNoNoiseAndNoClipIsHonoured) {
  // At index 0 the step is the posterior mean alone: the same output with any z.
  test::TempDir dir;
  make_fixtures("step " + dir.path().string() + " --config " + shell_quote(test::kv_json(kModel)) + " --diffusion " +
                shell_quote(test::kv_json({{"learn_sigma", "true"}, {"timestep_respacing", "\"100\""}})) +
                " --seed 9 --batch 2 --t 0,30 --clip 0");
  std::ofstream(dir.file("m.yaml")) << model_yaml(kModel);
  write_npy(dir.file("noise2.npy"), to_npy(torch::randn({2, 3, 32, 32}) * 3));
  auto run = [&](const std::string& noise, const std::string& out) {
    std::string log;
    EXPECT_EQ(test::repro_cli("model step --config " + dir.file("m.yaml") + " --checkpoint " + dir.file("model.pt") +
                                  " --x " + dir.file("x.npy") + " --t " + dir.file("t.npy") + " --noise " + noise +
                                  " --steps 100 --no-clip --threads 2 --out " + out,
                              &log),
              0)
        << log;
    return to_tensor(read_npz(out).at("sample"));
  };
  auto a = run(dir.file("noise.npy"), dir.file("a.npz"));
  auto b = run(dir.file("noise2.npy"), dir.file("b.npz"));
  EXPECT_TRUE(torch::equal(a[0], b[0]));                      // index 0: no noise
  EXPECT_GT((a[1] - b[1]).abs().max().item<float>(), 0.01f);  // index 30: z enters
  // Unclipped, as the replica's clip_denoised=False.
  const auto want = read_npz(dir.file("step_0.npz"));
  expect_close(a, to_tensor(want.at("sample")), "no-clip sample");
  const auto pred = to_tensor(read_npz(dir.file("a.npz")).at("pred_xstart"));
  expect_close(pred, to_tensor(want.at("pred_xstart")), "no-clip pred_xstart");
  EXPECT_GT(pred.abs().max().item<float>(), 1.0f);  // values past [-1, 1] survive
}

TEST(ModelStep, RefusesBadInputsNamingTheOption) {
  test::TempDir dir;
  std::ofstream(dir.file("m.yaml")) << model_yaml(kModel);
  std::ofstream(dir.file("x0.yaml")) << model_yaml(kModel, "  predict_xstart: true\n");
  write_npy(dir.file("x.npy"), to_npy(torch::zeros({2, 3, 32, 32})));
  write_npy(dir.file("small.npy"), to_npy(torch::zeros({2, 3, 16, 16})));
  write_npy(dir.file("t.npy"), to_npy(torch::tensor({3, 99}, torch::kInt64)));
  write_npy(dir.file("t100.npy"), to_npy(torch::tensor({3, 100}, torch::kInt64)));
  auto run = [&](const std::string& config, const std::string& t, const std::string& noise, const std::string& rest,
                 std::string* log) {
    // No checkpoint needed to fail: inputs are checked before the model is built.
    return test::repro_cli("model step --config " + dir.file(config) + " --checkpoint " + dir.file("none.pt") +
                               " --x " + dir.file("x.npy") + " --t " + dir.file(t) + " --noise " + dir.file(noise) +
                               " --out " + dir.file("o.npz") + " " + rest,
                           log);
  };
  struct Bad {
    std::string config, t, noise, rest;
    ExitCode code;
    std::vector<std::string> says;
  };
  const std::vector<Bad> bad = {
      {"m.yaml", "t100.npy", "x.npy", "--steps 100", ExitCode::kData, {"t100.npy", "[0, 100)", "got [3, 100]"}},
      {"m.yaml", "t.npy", "small.npy", "--steps 100", ExitCode::kData, {"small.npy", "expected shape"}},
      {"m.yaml", "t.npy", "x.npy", "--steps 100 --eta 0.5", ExitCode::kConfig, {"--eta", "--ddim"}},
      {"m.yaml",
       "t.npy",
       "x.npy",
       "--steps 100 --eps-scale 1,-0.02",
       ExitCode::kConfig,
       {"--eps-scale", "> 0", "i = 99"}},
      {"m.yaml", "t.npy", "x.npy", "--steps 100 --eps-scale 1.0x", ExitCode::kConfig, {"--eps-scale", "1.0x"}},
      {"m.yaml", "t.npy", "x.npy", "--steps 7000", ExitCode::kConfig, {"--steps"}},
      {"x0.yaml", "t.npy", "x.npy", "--steps 100 --eps-scale 1.017", ExitCode::kConfig, {"--eps-scale", "x_start"}},
  };
  for (const auto& b : bad) {
    std::string log;
    EXPECT_EQ(run(b.config, b.t, b.noise, b.rest, &log), to_int(b.code)) << b.rest << "\n" << log;
    for (const auto& s : b.says)
      EXPECT_NE(log.find(s), std::string::npos) << b.rest << ": no '" << s << "' in\n" << log;
    EXPECT_FALSE(std::ifstream(dir.file("o.npz")).good()) << b.rest;
  }
}
