// The sample task's exposure branch (spec.exposure_num > 0) and how the task maps the spec's
// Epsilon Scaling, start and data into its jobs. Truth: the task's files equal, byte for byte, what
// the job the spec describes writes when run directly (tasks::exposure_run, tasks::sample_run),
// while a job without the mapped field writes something else; its events carry the files' SHA-256
// and sizes as the files on disk hash; a finished measurement is kept on a second attempt.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/diffusion/exposure_record.h"
#include "base/util/errors.h"
#include "base/util/file_io.h"
#include "base/util/npy.h"
#include "base/util/sha256.h"
#include "config/train_config_yaml.h"
#include "core/nn/unet.h"
#include "core/util/checkpoint.h"
#include "runner/plan/task_spec.h"
#include "tasks/exposure_run.h"
#include "tasks/sample_run.h"
#include "tasks/task_bodies.h"
#include "tests/support/test_support.h"
#include "tests/support/tiny_unet.h"

using namespace repro;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// Run r1: the tiny UNet on 20 diffusion steps with a checkpoint of random weights (an untrained
// UNet outputs zero, which no Epsilon Scaling changes), and x0.npz of 12 NumPy images.
void write_run(const test::TempDir& dir) {
  fs::create_directories(dir.file("r1/checkpoints"));
  fs::create_directories(dir.file("r1/tasks"));
  core::UNetModel model(test::tiny_unet(8, {1, 1}));
  torch::manual_seed(3);
  {
    torch::NoGradGuard no_grad;
    for (auto& p : model->parameters()) p.add_(torch::randn_like(p) * 0.05);
  }
  core::save_checkpoint(*model, dir.file("r1/checkpoints/ema_0.9999_000002.pt"));
  std::ofstream(dir.file("r1/train.yaml"))
      << test::kTinyUnet8Yaml << "diffusion:\n  diffusion_steps: 20\ndata:\n  path: data.npz\n";
  ASSERT_TRUE(test::write_numpy_images(dir, "x0.npz", 12, 4));
}

config::ModelFile model_file(const test::TempDir& dir) {
  const auto f = config::read_train_file(dir.file("r1/train.yaml"));
  return {f.model, f.diffusion};
}

std::string checkpoint(const test::TempDir& dir) { return dir.file("r1/checkpoints/ema_0.9999_000002.pt"); }

tasks::TaskFile task_file(const test::TempDir& dir, const std::string& id) {
  tasks::TaskFile t;
  t.path = dir.file("r1/tasks/" + id + ".json");
  t.task_id = id;
  t.run_id = "r1";
  t.kind = runner::TaskKind::kSample;
  t.run_dir = dir.file("r1");
  t.events = dir.file("r1/tasks/" + id + ".events.jsonl");
  return t;
}

runner::SampleTaskSpec base_spec() {
  runner::SampleTaskSpec s;
  s.batch_size = 4;
  s.checkpoint_step = 2;
  s.ema = "0.9999";
  s.num_samples = 3;
  s.sampler = "ancestral";
  s.seed = 7;
  s.steps = 5;
  return s;
}

runner::SampleTaskSpec exposure_spec(const test::TempDir& dir) {
  runner::SampleTaskSpec s = base_spec();
  s.eps_scale_b = 1.05;
  s.eps_scale_k = 0.01;
  s.data = dir.file("x0.npz");
  s.exposure_num = 6;
  s.exposure_mode = "step";
  return s;
}

// The job exposure_spec describes, written to `out`.
tasks::ExposureJob exposure_job(const test::TempDir& dir, const std::string& out, core::EpsScale eps_scale) {
  tasks::ExposureJob job;
  job.checkpoint = checkpoint(dir);
  job.data = dir.file("x0.npz");
  job.steps = "5";
  job.eps_scale = eps_scale;
  job.mode = "step";
  job.num = 6;
  job.batch_size = 4;
  job.seed = 7;
  job.out = dir.file(out);
  job.quiet = true;
  job.threads = 2;
  return job;
}

int run_task(const test::TempDir& dir, const std::string& id, const runner::SampleTaskSpec& spec) {
  std::ostringstream err;
  return tasks::sample_task(task_file(dir, id), spec, /*threads=*/2, err);
}

std::vector<json> events_of_type(const std::string& events, const std::string& type) {
  std::vector<json> out;
  for (const auto& e : test::read_events(events))
    if (e.value("type", "") == type) out.push_back(e);
  return out;
}

std::string records_json(const std::string& path) {
  core::ExposureCurves c = core::read_exposure_json(path);
  core::ExposureCurves only_records;
  only_records.records = c.records;
  return core::exposure_json(only_records);
}

}  // namespace

TEST(ExposureTask, MeasuresWhatTheSpecDescribesAndRecordsTheFiles) {
  test::TempDir dir;
  write_run(dir);
  ASSERT_EQ(run_task(dir, "r1-exposure", exposure_spec(dir)), 0);
  const std::string out = dir.file("r1/exposure/r1-exposure.json");
  const std::string svg = dir.file("r1/exposure/r1-exposure.svg");
  ASSERT_TRUE(fs::is_regular_file(out));
  ASSERT_TRUE(fs::is_regular_file(svg));
  EXPECT_FALSE(fs::exists(dir.file("r1/samples"))) << "an exposure task draws no samples";

  // The same job run directly writes the same bytes; without the spec's Epsilon Scaling, other numbers.
  std::ostringstream err;
  tasks::exposure_run(model_file(dir), exposure_job(dir, "direct.json", {1.05, 0.01}), err);
  EXPECT_EQ(test::read_text(out), test::read_text(dir.file("direct.json")));
  tasks::exposure_run(model_file(dir), exposure_job(dir, "unscaled.json", {}), err);
  EXPECT_NE(records_json(out), records_json(dir.file("unscaled.json")));
  const core::ExposureCurves c = core::read_exposure_json(out);
  EXPECT_EQ(c.mode, "step");
  EXPECT_EQ(c.num, 6);
  EXPECT_EQ(c.records.size(), 4u);  // step mode: t = T - 2 ... 0 of 5 steps

  const std::string events = dir.file("r1/tasks/r1-exposure.events.jsonl");
  const auto starts = events_of_type(events, "start");
  ASSERT_EQ(starts.size(), 1u);
  EXPECT_EQ(starts[0].value("kind", ""), "sample");
  EXPECT_EQ(starts[0].value("checkpoint", ""), checkpoint(dir));
  EXPECT_EQ(starts[0]["provenance"].value("seed", ""), "7");
  EXPECT_FALSE(starts[0]["provenance"].value("torso_dtype", "").empty());
  const auto artifacts = events_of_type(events, "artifact");
  ASSERT_EQ(artifacts.size(), 2u);
  EXPECT_EQ(artifacts[0].value("path", ""), "exposure/r1-exposure.svg");
  EXPECT_EQ(artifacts[0].value("sha256", ""), sha256_file_hex(svg));
  EXPECT_EQ(artifacts[0].value("bytes", int64_t{0}), static_cast<int64_t>(fs::file_size(svg)));
  EXPECT_EQ(artifacts[1].value("path", ""), "exposure/r1-exposure.json");
  EXPECT_EQ(artifacts[1].value("sha256", ""), sha256_file_hex(out));
  EXPECT_EQ(artifacts[1].value("bytes", int64_t{0}), static_cast<int64_t>(fs::file_size(out)));
  const auto ends = events_of_type(events, "end");
  ASSERT_EQ(ends.size(), 1u);
  EXPECT_EQ(ends[0].value("status", ""), "completed");
}

TEST(ExposureTask, AFinishedMeasurementIsKept) {
  test::TempDir dir;
  write_run(dir);
  ASSERT_EQ(run_task(dir, "r1-exposure", exposure_spec(dir)), 0);
  // A marker in place of the finished file: a second attempt must not measure again.
  const std::string out = dir.file("r1/exposure/r1-exposure.json");
  core::ExposureCurves marker = core::read_exposure_json(out);
  marker.num = 99;
  write_file_atomic(out, core::exposure_json(marker));
  ASSERT_EQ(run_task(dir, "r1-exposure", exposure_spec(dir)), 0);
  EXPECT_EQ(core::read_exposure_json(out).num, 99);
  const auto artifacts = events_of_type(dir.file("r1/tasks/r1-exposure.events.jsonl"), "artifact");
  ASSERT_EQ(artifacts.size(), 4u);
  EXPECT_EQ(artifacts[3].value("sha256", ""), sha256_file_hex(out));
}

TEST(ExposureTask, ABadModeEndsTheTaskWithAnError) {
  test::TempDir dir;
  write_run(dir);
  runner::SampleTaskSpec spec = exposure_spec(dir);
  spec.exposure_mode = "sideways";
  EXPECT_THROW(run_task(dir, "r1-exposure", spec), ConfigError);
  const auto ends = events_of_type(dir.file("r1/tasks/r1-exposure.events.jsonl"), "end");
  ASSERT_EQ(ends.size(), 1u);
  EXPECT_EQ(ends[0].value("status", ""), "error");
  EXPECT_NE(ends[0].value("message", "").find("sideways"), std::string::npos) << ends[0].dump();
  EXPECT_FALSE(fs::exists(dir.file("r1/exposure/r1-exposure.json")));
}

// The sampling branch: the spec's eps_scale and (start_t, data) reach the SampleJob.
TEST(ExposureTask, SampleTaskMapsEpsScaleStartAndData) {
  test::TempDir dir;
  write_run(dir);
  auto sample_direct = [&](const std::string& name, const core::EpsScale& eps_scale, int start_t, int steps) {
    tasks::SampleJob job;
    job.checkpoint = checkpoint(dir);
    job.steps = std::to_string(steps);
    job.eps_scale = eps_scale;
    job.start_t = start_t;
    job.data = start_t > 0 ? dir.file("x0.npz") : "";
    job.num_samples = 3;
    job.batch_size = 4;
    job.seed = 7;
    job.out = dir.file(name);
    job.quiet = true;
    job.threads = 2;
    std::ostringstream err;
    tasks::sample_run(model_file(dir), job, err);
    return read_npz(dir.file(name)).at("arr_0").data;
  };
  runner::SampleTaskSpec scaled = base_spec();
  scaled.eps_scale_b = 1.05;
  scaled.eps_scale_k = 0.01;
  ASSERT_EQ(run_task(dir, "r1-sample-es", scaled), 0);
  const std::string es = read_npz(dir.file("r1/samples/r1-sample-es.npz")).at("arr_0").data;
  EXPECT_EQ(es, sample_direct("es.npz", {1.05, 0.01}, 0, 5));
  EXPECT_NE(es, sample_direct("plain.npz", {}, 0, 5));

  runner::SampleTaskSpec from_data = base_spec();
  from_data.steps = 20;  // the full process
  from_data.start_t = 10;
  from_data.data = dir.file("x0.npz");
  ASSERT_EQ(run_task(dir, "r1-sample-k", from_data), 0);
  const std::string k = read_npz(dir.file("r1/samples/r1-sample-k.npz")).at("arr_0").data;
  EXPECT_EQ(k, sample_direct("k.npz", {}, 10, 20));
  EXPECT_NE(k, sample_direct("noise.npz", {}, 0, 20));
}
