// Sampling precision and the uint8 conversion as sample options: the model config a precision
// makes, the torso dtype it gives on CUDA and on the CPU (float32 there, as use_fp16 configs
// always sampled on the CPU), bad options refused before sampling, truncate vs round on the same
// draws, and the sample task recording what its torso ran in.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <sstream>

#include "base/util/errors.h"
#include "base/util/exit_code.h"
#include "base/util/npy.h"
#include "core/nn/unet.h"
#include "core/util/checkpoint.h"
#include "core/util/device.h"
#include "runner/plan/task_spec.h"
#include "tasks/run_task.h"
#include "tasks/sample_run.h"
#include "tests/support/task_file_writer.h"
#include "tests/support/test_support.h"
#include "tests/support/tiny_unet.h"

using namespace repro;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// The tiny UNet (tests/support/tiny_unet.h) as trained with use_fp16, 20 diffusion steps.
config::ModelFile fp16_model() {
  config::ModelFile f;
  f.model = test::tiny_unet(8, {1, 1});
  f.model.use_fp16 = true;
  f.diffusion.diffusion_steps = 20;
  f.diffusion.learn_sigma = true;
  return f;
}

tasks::SampleJob job_to(const std::string& out) {
  tasks::SampleJob job;
  job.steps = "4";
  job.num_samples = 3;
  job.batch_size = 2;
  job.seed = 5;
  job.out = out;
  job.quiet = true;
  job.device = "cpu";
  job.threads = 2;
  return job;
}

// arr_0 of a sample batch as bytes.
std::string samples_of(const std::string& path) { return read_npz(path).at("arr_0").data; }

}  // namespace

TEST(SamplingPrecision, SamplingModelSetsUseFp16AndPrecision) {
  const core::UNetConfig m = fp16_model().model;
  EXPECT_FALSE(tasks::sampling_model(m, "fp32").use_fp16);
  const core::UNetConfig bf16 = tasks::sampling_model(m, "bf16");
  EXPECT_TRUE(bf16.use_fp16);
  EXPECT_EQ(bf16.precision, "bf16");
  core::UNetConfig fp32_trained = m;
  fp32_trained.use_fp16 = false;
  const core::UNetConfig fp16 = tasks::sampling_model(fp32_trained, "fp16");
  EXPECT_TRUE(fp16.use_fp16);
  EXPECT_EQ(fp16.precision, "fp16");
  EXPECT_TRUE(tasks::sampling_model(m, "auto").use_fp16);
  EXPECT_FALSE(tasks::sampling_model(fp32_trained, "auto").use_fp16);
  try {
    tasks::sampling_model(m, "fp8");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.key_path(), "--precision");
    EXPECT_NE(std::string(e.what()).find("'fp8'"), std::string::npos) << e.what();
  }
}

TEST(SamplingPrecision, HalfTypesOnCudaFloat32OnTheCpu) {
  const core::UNetConfig m = fp16_model().model;
  EXPECT_EQ(tasks::torso_dtype_name(tasks::sampling_model(m, "fp16"), true), "float16");
  EXPECT_EQ(tasks::torso_dtype_name(tasks::sampling_model(m, "bf16"), true), "bfloat16");
  EXPECT_EQ(tasks::torso_dtype_name(tasks::sampling_model(m, "fp32"), true), "float32");
  for (const char* p : {"auto", "fp32", "fp16", "bf16"})
    EXPECT_EQ(tasks::torso_dtype_name(tasks::sampling_model(m, p), false), "float32") << p;
}

// On the CPU every precision samples the same bytes in float32, as a use_fp16 config did before
// the option existed (LibTorch 1.13 has no float16 convolution on the CPU).
TEST(SamplingPrecision, CpuSamplesEveryPrecisionInFloat32) {
  test::TempDir dir;
  std::string first;
  for (const char* p : {"auto", "fp32", "fp16", "bf16"}) {
    tasks::SampleJob job = job_to(dir.file(std::string(p) + ".npz"));
    job.precision = p;
    std::ostringstream err;
    tasks::sample_run(fp16_model(), job, err);
    EXPECT_NE(err.str().find("torso float32"), std::string::npos) << err.str();
    if (first.empty()) first = samples_of(job.out);
    EXPECT_EQ(samples_of(job.out), first) << p;
  }
}

TEST(SamplingPrecision, BadOptionsFailBeforeSampling) {
  test::TempDir dir;
  tasks::SampleJob job = job_to(dir.file("s.npz"));
  job.precision = "fp8";
  std::ostringstream err;
  try {
    tasks::sample_run(fp16_model(), job, err);
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.key_path(), "--precision");
  }
  job.precision = "auto";
  job.to_uint8 = "nearest";
  try {
    tasks::sample_run(fp16_model(), job, err);
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.key_path(), "--to-uint8");
  }
  EXPECT_FALSE(fs::exists(job.out));
}

// The same draws converted both ways: rounding adds 0.5 before truncating, so each byte is the
// truncated one or one more, and some are one more.
TEST(SamplingUint8, RoundIsTruncateOrOneMore) {
  test::TempDir dir;
  tasks::SampleJob job = job_to(dir.file("truncate.npz"));
  std::ostringstream err;
  tasks::sample_run(fp16_model(), job, err);
  job.out = dir.file("round.npz");
  job.to_uint8 = "round";
  tasks::sample_run(fp16_model(), job, err);
  const auto t = samples_of(dir.file("truncate.npz")), r = samples_of(dir.file("round.npz"));
  ASSERT_EQ(t.size(), r.size());
  int ones = 0;
  for (size_t i = 0; i < t.size(); ++i) {
    const int d = static_cast<uint8_t>(r[i]) - static_cast<uint8_t>(t[i]);
    ASSERT_TRUE(d == 0 || d == 1) << i << ": " << d;
    ones += d;
  }
  EXPECT_GT(ones, 0);
}

// A sample task asked for bf16 and rounding: on the CPU its torso ran in float32, and its
// provenance says so and names the CPU.
TEST(SamplingPrecision, SampleTaskRecordsTheTorsoDtype) {
  if (core::cuda_available()) GTEST_SKIP() << "a GPU is present: the task would sample there";
  test::TempDir dir;
  const config::ModelFile f = fp16_model();
  fs::create_directories(dir.file("r1/checkpoints"));
  core::UNetModel model(f.model);
  core::save_checkpoint(*model, dir.file("r1/checkpoints/ema_0.9999_000002.pt"));
  std::ofstream(dir.file("r1/train.yaml")) << test::kTinyUnet8Yaml
                                           << "  use_fp16: true\ndiffusion:\n  diffusion_steps: 20\n"
                                              "data:\n  path: data.npz\n";
  runner::SampleTaskSpec spec;
  spec.batch_size = 2;
  spec.checkpoint_step = 2;
  spec.ema = "0.9999";
  spec.num_samples = 2;
  spec.precision = "bf16";
  spec.sampler = "ancestral";
  spec.seed = 7;
  spec.steps = 4;
  spec.to_uint8 = "round";
  const std::string path = test::write_task_file(dir, "r1-sample-a", "sample", json::parse(runner::spec_text(spec)));
  std::ostringstream err;
  ASSERT_EQ(tasks::run_task(path, {/*threads=*/2, {}}, err), to_int(ExitCode::kOk)) << err.str();
  json start;
  for (const auto& e : test::read_events(dir.file("r1/tasks/r1-sample-a.events.jsonl")))
    if (e.value("type", "") == "start") start = e;
  EXPECT_EQ(start["provenance"].value("torso_dtype", ""), "float32");
  EXPECT_EQ(start["provenance"].value("device", "").rfind("cpu", 0), 0u) << start.dump();
  EXPECT_EQ(read_npz(dir.file("r1/samples/r1-sample-a.npz")).at("arr_0").shape, (std::vector<int64_t>{2, 8, 8, 3}));
}
