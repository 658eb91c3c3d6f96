// Chains started from data (Table 1) and Epsilon Scaling in `repro sample`'s body (sample_run),
// and the x0 images they read (read_x0_images). Truths: arrays written by NumPy (np.savez, and
// the float x0 NumPy computes from them), a dataset prepared from the same npz, and the K = 1
// chain computed by hand: x_1 = sqrt(abar_0) x0 + sqrt(1 - abar_0) eps, then the last step of an
// untrained network (its zero-initialised output layer predicts eps = 0) is clip(x_1 / sqrt(abar_0)),
// with eps drawn from the seed's generator as documented (per batch: eps, then the step's z).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "base/util/errors.h"
#include "base/util/npy.h"
#include "core/diffusion/gaussian_diffusion.h"
#include "core/diffusion/image_output.h"
#include "core/diffusion/sampling.h"
#include "core/nn/unet.h"
#include "core/util/checkpoint.h"
#include "core/util/tensor_npy.h"
#include "datasets/prepare.h"
#include "tasks/sample_run.h"
#include "tasks/x0_images.h"
#include "tests/support/test_support.h"
#include "tests/support/tiny_unet.h"

using namespace repro;
namespace fs = std::filesystem;

namespace {

core::UNetConfig model_8x8(int channels = 3) {
  core::UNetConfig m = test::tiny_unet(8, {1, 1});
  m.in_channels = channels;
  return m;
}

// NumPy writes dir/<name>: arr_0 = default_rng(seed).integers(0, 256, (n, size, size, c), uint8)
// (np.savez, or np.savez_compressed), plus extra keys a reference batch has; and dir/<name>.x0.npy,
// the float32 [n, c, size, size] NumPy makes of it: arr_0 / 127.5 - 1, transposed to NCHW.
void numpy_images(const test::TempDir& dir, const std::string& name, int n, int size, int c, bool compressed) {
  std::ostringstream py;
  py << "import numpy as np\n"
     << "a = np.random.default_rng(" << n * 31 + size << ").integers(0, 256, (" << n << ", " << size << ", " << size
     << ", " << c << "), dtype=np.uint8)\n"
     << "np." << (compressed ? "savez_compressed" : "savez") << "('" << name
     << "', arr_0=a, mu=np.zeros(4), sigma=np.eye(4))\n"
     << "x0 = (a.astype(np.float32) / 127.5 - 1).transpose(0, 3, 1, 2)\n"
     << "assert x0.dtype == np.float32\n"
     << "np.save('" << name << ".x0.npy', np.ascontiguousarray(x0))\n";
  ASSERT_EQ(test::run_python(py.str(), dir.path()), 0);
}

std::string error_of(const std::function<void()>& fn) { return test::error_message(fn); }

}  // namespace

TEST(X0Images, NpzWrittenByNumpyReadsBackExactly) {
  test::TempDir dir;
  for (bool compressed : {false, true}) {
    const std::string name = compressed ? "ref_z.npz" : "ref.npz";
    numpy_images(dir, name, 7, 8, 3, compressed);
    const auto want = core::read_npy_tensor(dir.file(name + ".x0.npy"));
    const auto got = tasks::read_x0_images(dir.file(name), 2, 4, model_8x8());
    EXPECT_EQ(got.sizes(), (std::vector<int64_t>{4, 3, 8, 8}));
    EXPECT_TRUE(got.is_contiguous());
    EXPECT_TRUE(torch::equal(got, want.slice(0, 2, 6))) << name;
    // All of them, and none.
    EXPECT_TRUE(torch::equal(tasks::read_x0_images(dir.file(name), 0, 7, model_8x8()), want)) << name;
    EXPECT_EQ(tasks::read_x0_images(dir.file(name), 7, 0, model_8x8()).size(0), 0);
  }
  // A one-channel model reads one-channel images.
  numpy_images(dir, "gray.npz", 3, 8, 1, false);
  EXPECT_TRUE(torch::equal(tasks::read_x0_images(dir.file("gray.npz"), 0, 3, model_8x8(1)),
                           core::read_npy_tensor(dir.file("gray.npz.x0.npy"))));
}

TEST(X0Images, PreparedDatasetReadsTheSameImages) {
  test::TempDir dir;
  numpy_images(dir, "ref.npz", 9, 8, 3, false);
  datasets::PrepareOptions o;
  o.dataset = "npz";
  o.source = dir.file("ref.npz");
  o.out = dir.file("prepared");
  datasets::prepare_dataset(o);
  const tasks::X0Images images(dir.file("prepared"), model_8x8());
  EXPECT_EQ(images.size(), 9);
  const auto want = core::read_npy_tensor(dir.file("ref.npz.x0.npy"));
  EXPECT_TRUE(torch::equal(images.rows(3, 5), want.slice(0, 3, 8)));
  EXPECT_TRUE(torch::equal(tasks::read_x0_images(dir.file("prepared"), 0, 9, model_8x8()), want));
  // Too few, named with what was asked and what is there.
  const std::string e = error_of([&] { images.rows(5, 5); });
  EXPECT_NE(e.find("prepared: needs images [5, 10), holds 9"), std::string::npos) << e;
  EXPECT_THROW(images.rows(-1, 2), DataError);
}

TEST(X0Images, HostileFilesAreRefusedNamingTheFile) {
  test::TempDir dir;
  numpy_images(dir, "ref16.npz", 2, 16, 3, false);
  numpy_images(dir, "gray.npz", 2, 8, 1, false);
  numpy_images(dir, "few.npz", 3, 8, 3, false);
  const std::string py =
      "import io, zipfile, numpy as np\n"
      "np.savez('float.npz', arr_0=np.zeros((2, 8, 8, 3), np.float32))\n"
      "np.savez('flat.npz', arr_0=np.zeros((2, 8, 8), np.uint8))\n"
      "np.savez('other.npz', images=np.zeros((2, 8, 8, 3), np.uint8))\n"
      "h = io.BytesIO()\n"
      "np.lib.format.write_array_header_1_0(h, {'descr': '|u1', 'fortran_order': False,\n"
      "                                         'shape': (10**12, 8, 8, 3)})\n"
      "with zipfile.ZipFile('huge.npz', 'w') as z: z.writestr('arr_0.npy', h.getvalue() + bytes(192))\n"
      "open('text.npz', 'w').write('not a zip')\n";
  ASSERT_EQ(test::run_python(py, dir.path()), 0);
  fs::create_directories(dir.file("folder"));
  struct Case {
    std::string file;
    int64_t n;
    std::vector<std::string> says;
  };
  const std::vector<Case> cases = {
      {"ref16.npz", 1, {"ref16.npz", "expected images [H, W, C] = [8, 8, 3]", "got [16, 16, 3]"}},
      {"gray.npz", 1, {"gray.npz", "got [8, 8, 1]"}},
      {"few.npz", 4, {"few.npz", "needs images [0, 4), holds 3"}},
      {"float.npz", 1, {"float.npz", "uint8", "<f4"}},
      {"flat.npz", 1, {"flat.npz", "uint8", "(2, 8, 8)"}},
      {"other.npz", 1, {"other.npz", "no arr_0"}},
      {"huge.npz", 1, {"huge.npz"}},
      {"text.npz", 1, {"text.npz"}},
      {"missing.npz", 1, {"missing.npz", "no such file"}},
      {"folder", 1, {"folder", "not a prepared dataset", "repro data prepare"}},
  };
  for (const auto& c : cases) {
    std::string what;
    try {
      tasks::read_x0_images(dir.file(c.file), 0, c.n, model_8x8());
      ADD_FAILURE() << c.file << ": no error";
    } catch (const DataError& e) {
      what = e.what();
    } catch (const IoError& e) {
      what = e.what();
    }
    for (const auto& s : c.says)
      EXPECT_NE(what.find(s), std::string::npos) << c.file << ": no '" << s << "' in " << what;
  }
}

namespace {

// The tiny UNet on a linear schedule of 1000 steps (beta_0 = 1e-4 exactly as written).
config::ModelFile linear_model() {
  config::ModelFile f;
  f.model = model_8x8();
  f.diffusion.noise_schedule = "linear";
  f.diffusion.learn_sigma = true;
  return f;
}

tasks::SampleJob data_job(const test::TempDir& dir, const std::string& out) {
  tasks::SampleJob job;
  job.start_t = 1;
  job.data = dir.file("ref.npz");
  job.num_samples = 5;
  job.batch_size = 2;  // batches of 2, 2 and 1: rows [0, 2), [2, 4), [4, 5)
  job.seed = 17;
  job.quiet = true;
  job.threads = 2;
  job.out = dir.file(out);
  return job;
}

torch::Tensor samples_of(const std::string& path) { return core::to_tensor(read_npz(path).at("arr_0")); }

// A network whose every weight is random (N(0, 1/fan_in), biases N(0, 0.01^2)): eps of order 1,
// so that every step, and Epsilon Scaling, shows in the samples.
void random_checkpoint(const core::UNetConfig& config, uint64_t seed, const std::string& path) {
  core::UNetModel model(config);
  torch::NoGradGuard ng;
  torch::manual_seed(seed);
  for (auto& p : model->parameters())
    p.copy_(torch::randn_like(p) * (p.dim() > 1 ? 1.0 / std::sqrt(static_cast<double>(p[0].numel())) : 0.01));
  core::save_checkpoint(*model, path);
}

// The fraction of pixels strictly between 0 and 255: samples that did not all saturate.
double unsaturated(const torch::Tensor& u8) {
  return (u8.gt(0) & u8.lt(255)).to(torch::kFloat64).mean().item<double>();
}

}  // namespace

TEST(DataStartedSample, OneStepFromDataIsTheHandComputedChain) {
  test::TempDir dir;
  numpy_images(dir, "ref.npz", 6, 8, 3, false);
  const auto job = data_job(dir, "k1.npz");
  std::ostringstream log;
  tasks::sample_run(linear_model(), job, log);
  EXPECT_NE(log.str().find("1 of 1000 ancestral steps from data"), std::string::npos) << log.str();
  const auto got = samples_of(job.out);
  ASSERT_EQ(got.sizes(), (std::vector<int64_t>{5, 8, 8, 3}));

  // By hand, in the float32 operations of the reference (coefficients are float64, cast once).
  const double beta0 = 0.0001, abar0 = 1.0 - beta0;
  const auto f = [](double v) { return static_cast<float>(v); };
  const auto x0 = core::read_npy_tensor(dir.file("ref.npz.x0.npy"));
  auto gen = at::detail::createCPUGenerator(17);
  std::vector<torch::Tensor> want;
  for (int64_t first = 0; first < 5; first += 2) {
    const int64_t n = std::min<int64_t>(2, 5 - first);
    const auto eps = torch::randn({n, 3, 8, 8}, gen, torch::kFloat32);
    (void)torch::randn({n, 3, 8, 8}, gen, torch::kFloat32);  // the last step's z, drawn and unused
    const auto x1 = f(std::sqrt(abar0)) * x0.slice(0, first, first + n) + f(std::sqrt(1.0 - abar0)) * eps;
    // eps_theta = 0: pred_xstart = sqrt(1/abar_0) x_1, clipped; the mean at index 0 is
    // coef1 pred_xstart + coef2 x_1 with coef1 = beta_0 / (1 - abar_0), coef2 = 0; no noise.
    const auto pred = (f(std::sqrt(1.0 / abar0)) * x1).clamp(-1, 1);
    const auto mean = f(beta0 / (1.0 - abar0)) * pred + f(0.0) * x1;
    want.push_back(((mean + 1) * 127.5).clamp(0, 255).to(torch::kUInt8).permute({0, 2, 3, 1}));
  }
  const auto expected = torch::cat(want);
  EXPECT_TRUE(torch::equal(got, expected)) << "pixels differing: " << got.ne(expected).sum().item<int64_t>();
  // eps matters: the x0 images alone, quantised, are not the samples.
  const auto x0_u8 = ((x0.slice(0, 0, 5) + 1) * 127.5).clamp(0, 255).to(torch::kUInt8).permute({0, 2, 3, 1});
  EXPECT_GT(got.ne(x0_u8).sum().item<int64_t>(), 100);
}

TEST(DataStartedSample, SameSeedSameSamplesAndTheChainRunsKSteps) {
  test::TempDir dir;
  numpy_images(dir, "ref.npz", 6, 8, 3, false);
  // A network with random weights, so that every step matters.
  config::ModelFile file = linear_model();
  file.diffusion.diffusion_steps = 40;
  random_checkpoint(file.model, 3, dir.file("w.pt"));
  auto job = data_job(dir, "a.npz");
  job.start_t = 7;
  job.checkpoint = dir.file("w.pt");
  std::ostringstream log;
  tasks::sample_run(file, job, log);
  job.out = dir.file("b.npz");
  tasks::sample_run(file, job, log);
  EXPECT_TRUE(torch::equal(samples_of(dir.file("a.npz")), samples_of(dir.file("b.npz"))));
  EXPECT_GT(unsaturated(samples_of(dir.file("a.npz"))), 0.5);
  job.seed = 18;
  job.out = dir.file("c.npz");
  tasks::sample_run(file, job, log);
  EXPECT_FALSE(torch::equal(samples_of(dir.file("a.npz")), samples_of(dir.file("c.npz"))));

  // The same chain through the core API: x_7 = q_sample(x0, 6, eps), indices 6 ... 0 of the full
  // process, per batch, from the seed's generator.
  core::UNetModel model(file.model);
  core::load_checkpoint(*model, dir.file("w.pt"));
  model->eval();
  core::GaussianDiffusion d(file.diffusion);
  const auto x0 = core::read_npy_tensor(dir.file("ref.npz.x0.npy"));
  auto gen = at::detail::createCPUGenerator(17);
  std::vector<torch::Tensor> want;
  int calls = 0;
  core::ModelFn fn = [&](const torch::Tensor& x, const torch::Tensor& t) {
    ++calls;
    return model->forward(x, t).to(torch::kFloat32);
  };
  for (int64_t first = 0; first < 5; first += 2) {
    const int64_t n = std::min<int64_t>(2, 5 - first);
    const auto eps = torch::randn({n, 3, 8, 8}, gen, torch::kFloat32);
    const auto x7 = d.q_sample(x0.slice(0, first, first + n), torch::full({n}, 6, torch::kInt64), eps);
    want.push_back(core::to_uint8_nhwc(core::sample_loop_from(d, fn, x7, 6, gen, core::SampleOptions{})));
  }
  EXPECT_EQ(calls, 3 * 7);
  EXPECT_TRUE(torch::equal(samples_of(dir.file("a.npz")), torch::cat(want)));
}

TEST(DataStartedSample, EpsScaleReachesTheSampler) {
  test::TempDir dir;
  config::ModelFile file = linear_model();
  file.diffusion.noise_schedule = "cosine";  // the linear one ends at beta = 1 over 20 steps
  file.diffusion.diffusion_steps = 20;
  random_checkpoint(file.model, 4, dir.file("w.pt"));
  tasks::SampleJob job;
  job.checkpoint = dir.file("w.pt");
  job.num_samples = 3;
  job.batch_size = 3;
  job.seed = 5;
  job.quiet = true;
  job.threads = 2;
  job.steps = "10";
  std::ostringstream log;
  auto run = [&](const core::EpsScale& s, const std::string& out) {
    job.eps_scale = s;
    job.out = dir.file(out);
    tasks::sample_run(file, job, log);
    return samples_of(job.out);
  };
  const auto plain = run({}, "plain.npz");
  EXPECT_GT(unsaturated(plain), 0.5);
  EXPECT_TRUE(torch::equal(run({1.0, 0.0}, "one.npz"), plain));
  const auto scaled = run({1.05, 0.002}, "scaled.npz");
  EXPECT_FALSE(torch::equal(scaled, plain));
  EXPECT_NE(log.str().find("eps scale 1.05+0.002i"), std::string::npos) << log.str();
  // The same through the core API with options.eps_scale.
  core::UNetModel model(file.model);
  core::load_checkpoint(*model, dir.file("w.pt"));
  model->eval();
  const core::GaussianDiffusion d = core::GaussianDiffusion(file.diffusion).respaced("10");
  core::SampleOptions o;
  o.eps_scale = {1.05, 0.002};
  auto gen = at::detail::createCPUGenerator(5);
  core::ModelFn fn = [&](const torch::Tensor& x, const torch::Tensor& t) { return model->forward(x, t); };
  EXPECT_TRUE(torch::equal(scaled, core::to_uint8_nhwc(core::sample_loop(d, fn, {3, 3, 8, 8}, gen, torch::kCPU, o))));
}

TEST(DataStartedSample, BadSettingsAreConfigErrorsNamingTheOption) {
  test::TempDir dir;
  numpy_images(dir, "ref.npz", 3, 8, 3, false);
  const config::ModelFile file = linear_model();
  struct Case {
    std::function<void(tasks::SampleJob&, config::ModelFile&)> change;
    std::string key, says;
  };
  const std::vector<Case> cases = {
      {[](auto& j, auto&) { j.start_t = 1001; }, "--start", "[1, 1000]"},
      {[](auto& j, auto&) { j.start_t = -3; }, "--start", "got -3"},
      {[](auto& j, auto&) { j.data.clear(); }, "--data", "--start K needs"},
      {[](auto& j, auto&) { j.steps = "100"; }, "--start", "full 1000-step process"},
      {[](auto&, auto& f) { f.diffusion.timestep_respacing = "50"; }, "--start", "'50' (50 steps)"},
      {[](auto& j, auto&) { j.ddim = true; }, "--start", "ancestral"},
      {[](auto& j, auto&) { j.start_t = 0; }, "--data", "add --start"},
      {[](auto& j, auto&) {
         j.eps_scale = {1.0, -0.002};
       },
       "--eps-scale", "i = 999"},
      {[](auto& j, auto& f) {
         j.eps_scale = {1.017, 0.0};
         f.diffusion.predict_xstart = true;
       },
       "--eps-scale", "x_start"},
      {[](auto& j, auto&) { j.eta = 0.5; }, "--eta", "--ddim"},
  };
  for (const auto& c : cases) {
    tasks::SampleJob job = data_job(dir, "never.npz");
    config::ModelFile f = file;
    c.change(job, f);
    std::ostringstream log;
    const ConfigError e = test::config_error([&] { tasks::sample_run(f, job, log); });
    EXPECT_EQ(e.key_path(), c.key) << e.what();
    EXPECT_NE(std::string(e.what()).find(c.says), std::string::npos) << e.what();
  }
  // More samples than images: a DataError before any sampling.
  tasks::SampleJob job = data_job(dir, "never.npz");
  job.num_samples = 4;
  std::ostringstream log;
  const std::string e = error_of([&] { tasks::sample_run(file, job, log); });
  EXPECT_NE(e.find("holds 3 images, --num-samples asks for 4"), std::string::npos) << e;
  EXPECT_FALSE(fs::exists(dir.file("never.npz")));
}
