// `repro exposure` end to end on x0 images written by NumPy. Truth: an untrained ADM UNet outputs
// exactly zero (its last convolution starts at zero), so eps = 0 and the learned-range v = 0, and
// without clipping each reverse step is linear in x̂_t: the x0 prediction is x_t / sqrt(abar_t),
// the ancestral mean x_t / sqrt(alpha_t) (sqrt(abar_t) x0 passes through unchanged) and the
// variance the midpoint sqrt(beta_t * beta~_t) (beta~ clipped at t = 0 as the reference); DDIM with
// eta 0 scales x_t by sqrt(abar_{t-1} / abar_t). So the stochastic part's variance follows a
// recursion Python computes from its own linear schedule and respacing, and the measured ratio must
// match it within sampling error: M = N C H W iid Gaussian elements, relative std sqrt(2 / M), 6 of
// them allowed. Both eps norms are exactly 0.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/support/test_support.h"
#include "tests/support/tiny_unet.h"

using namespace repro;
namespace fs = std::filesystem;
using test::repro_cli;

namespace {

constexpr int kImages = 24;

// The tiny 8x8 UNet (learned sigma, v in learned_range) on a linear schedule; x0.npz of kImages.
void write_inputs(const test::TempDir& dir) {
  std::ofstream(dir.file("m.yaml")) << test::kTinyUnet8Yaml << "diffusion:\n  noise_schedule: linear\n";
  ASSERT_TRUE(test::write_numpy_images(dir, "x0.npz", kImages, 5));
}

std::string exposure_args(const test::TempDir& dir, const std::string& extra) {
  return "exposure --config " + dir.file("m.yaml") + " --data " + dir.file("x0.npz") + " --steps 10 --num " +
         std::to_string(kImages) + " --batch-size 12 --seed 3 --no-clip --threads 2 --quiet " + extra;
}

// The schedule, the respacing and the expected ratios, in NumPy; checks every record of `file`.
const char* kCheck = R"(
import json, sys
import numpy as np
mode, sampler, file = sys.argv[1], sys.argv[2], sys.argv[3]
betas = np.linspace(1e-4, 0.02, 1000)
abar_full = np.cumprod(1 - betas)
stride = 999 / 9
use = sorted({round(i * stride) for i in range(10)})
abar = abar_full[use]
abar_prev = np.append(1.0, abar[:-1])
beta = 1 - abar / abar_prev
post = beta * (1 - abar_prev) / (1 - abar)
log_post_clipped = np.log(np.append(post[1], post[1:]))
sigma2 = np.exp(0.5 * (np.log(beta) + log_post_clipped))  # v = 0: the midpoint in log space

def step_var(t, v):  # Var of the stochastic part after the step from index t, eps = 0
    if sampler == 'ddim':
        return v * abar_prev[t] / abar[t]
    return v / (1 - beta[t]) + sigma2[t]

expected = {}
if mode == 'chain':
    v = 1 - abar[9]
    expected[9] = v
    for t in range(9, 0, -1):
        v = step_var(t, v)
        expected[t - 1] = v
else:
    for t in range(0, 9):
        expected[t] = step_var(t + 1, 1 - abar[t + 1])

j = json.load(open(file))
r = j['records']
assert [x['index'] for x in r] == sorted(expected, reverse=True), [x['index'] for x in r]
assert [x['timestep'] for x in r] == [use[x['index']] for x in r], r
M = j["num"] * 3 * 8 * 8
bound = 6 * np.sqrt(2 / M)
for x in r:
    t = x['index']
    assert abs(x['var_train'] - (1 - abar[t])) <= 1e-12 * (1 - abar[t]), (t, x['var_train'], 1 - abar[t])
    assert x['var_ratio'] == x['var_sample'] / x['var_train'], x
    want = expected[t]
    assert abs(x['var_sample'] - want) <= bound * want, (t, x['var_sample'], want, bound)
    assert x['eps_norm_sample'] == 0 and x['eps_norm_train'] == 0, x
assert j["num"] == 24 and j['steps'] == '10' and j['mode'] == mode and j['sampler'] == sampler, j
# The variance must have moved far from the forward process's somewhere: the check can fail.
assert max(abs(x['var_ratio'] - 1) for x in r) > 10 * bound, r
)";

bool check(const test::TempDir& dir, const std::string& mode, const std::string& sampler, const std::string& file) {
  std::ofstream(dir.file("check.py")) << kCheck;
  std::string out;
  const int rc = test::run_command(
      test::python_interpreter() + " " + dir.file("check.py") + " " + mode + " " + sampler + " " + dir.file(file),
      &out);
  EXPECT_EQ(rc, 0) << out;
  return rc == 0;
}

}  // namespace

TEST(ExposureCli, ChainOfAnUntrainedNetworkFollowsTheClosedForm) {
  test::TempDir dir;
  write_inputs(dir);
  std::string out;
  ASSERT_EQ(repro_cli(exposure_args(dir, "--out " + dir.file("e.json") + " --plot " + dir.file("e.svg")), &out), 0)
      << out;
  check(dir, "chain", "ancestral", "e.json");
  // The SVG is one document of stacked plots that an XML parser reads.
  EXPECT_EQ(test::run_python("import xml.etree.ElementTree as ET\n"
                             "root = ET.parse('e.svg').getroot()\n"
                             "ns = '{http://www.w3.org/2000/svg}'\n"
                             "assert root.tag == ns + 'svg', root.tag\n"
                             "plots = root.findall(ns + 'g/' + ns + 'svg')\n"
                             "assert len(plots) >= 1, plots\n"
                             "assert int(root.get('height')) == 360 * len(plots), root.get('height')\n",
                             dir.path()),
            0);
  // Same seed and batch size: the same bytes.
  ASSERT_EQ(repro_cli(exposure_args(dir, "--out " + dir.file("again.json")), &out), 0) << out;
  EXPECT_EQ(test::read_text(dir.file("again.json")), test::read_text(dir.file("e.json")));
}

TEST(ExposureCli, StepModeAndDdimFollowTheClosedForm) {
  test::TempDir dir;
  write_inputs(dir);
  std::string out;
  ASSERT_EQ(repro_cli(exposure_args(dir, "--mode step --out " + dir.file("step.json")), &out), 0) << out;
  check(dir, "step", "ancestral", "step.json");
  ASSERT_EQ(repro_cli(exposure_args(dir, "--ddim --eta 0 --eps-scale 1.01,0.001 --out " + dir.file("ddim.json")), &out),
            0)
      << out;
  check(dir, "chain", "ddim", "ddim.json");  // lambda divides an eps of 0: no change
  EXPECT_EQ(test::run_python("import json\nj = json.load(open('ddim.json'))\n"
                             "assert j['eps_scale'] == {'b': 1.01, 'k': 0.001}, j['eps_scale']\n",
                             dir.path()),
            0);
}

TEST(ExposureCli, ProgressLinesUnlessQuiet) {
  test::TempDir dir;
  write_inputs(dir);
  std::string out;
  const std::string args = "exposure --config " + dir.file("m.yaml") + " --data " + dir.file("x0.npz") +
                           " --steps 4 --num 3 --threads 2 --out " + dir.file("p.json");
  ASSERT_EQ(repro_cli(args, &out), 0) << out;
  EXPECT_NE(out.find("batch 1/1 step 4/4"), std::string::npos) << out;
  EXPECT_NE(out.find("wrote " + dir.file("p.json") + " (3 images, 4 steps, chain mode"), std::string::npos) << out;
}

TEST(ExposureCli, BadOptionsAreConfigErrorsNamingTheOptionAndWriteNothing) {
  test::TempDir dir;
  write_inputs(dir);
  auto expect_config_error = [&](const std::string& extra, const std::string& option) {
    std::string out;
    EXPECT_EQ(repro_cli(exposure_args(dir, extra + " --out " + dir.file("bad.json")), &out), 2) << extra << ": " << out;
    EXPECT_NE(out.find(option), std::string::npos) << extra << ": " << out;
    EXPECT_FALSE(fs::exists(dir.file("bad.json"))) << extra;
  };
  expect_config_error("--mode sideways", "--mode");
  expect_config_error("--start 5", "--start");  // --steps 10 is not the full process
  expect_config_error("--eps-scale 1.0,x", "--eps-scale");
  expect_config_error("--eps-scale 0", "--eps-scale");
  expect_config_error("--eta 0.5", "--eta");  // without --ddim
  expect_config_error("--batch-size 0", "--batch-size");
  expect_config_error("--precision fp8", "--precision");
  std::string out;
  EXPECT_EQ(repro_cli(exposure_args(dir, "--num 0 --out " + dir.file("bad.json")), &out), 2) << out;
  EXPECT_NE(out.find("--num"), std::string::npos) << out;
}

TEST(ExposureCli, TooFewImagesIsADataErrorNamingTheFile) {
  test::TempDir dir;
  write_inputs(dir);
  std::string out;
  const std::string args = "exposure --config " + dir.file("m.yaml") + " --data " + dir.file("x0.npz") +
                           " --num 25 --steps 4 --threads 2 --out " + dir.file("e.json");
  EXPECT_EQ(repro_cli(args, &out), 4) << out;
  EXPECT_NE(out.find(dir.file("x0.npz") + ": --num 25 needs as many images x0, it holds 24"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(dir.file("e.json")));
}
