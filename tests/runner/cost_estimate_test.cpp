// The dry run's cost against hand-computed numbers: GPU-hours of a tiny experiment from the
// throughput table and from a measured speed, checkpoint bytes under keep evaluated vs all, the
// sample npz against a real .npz, and the measured seconds per step with a pause in it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "base/util/npy.h"
#include "runner/experiment/expand.h"
#include "runner/plan/cost_estimate.h"
#include "runner/plan/task_graph.h"
#include "runner/plan/throughput.h"
#include "tests/support/test_support.h"

using namespace repro;
using namespace repro::runner;

namespace {

constexpr int64_t kParams32 = 57094662;  // the paper's 32x32 model (paper-spec Table 9)

// One run of the paper's 32x32 model: 3000 steps of 2 x 64 images, checkpoints every 1000, two EMA
// rates; 1200 samples at 100 steps from the checkpoints at 1000 and 3000.
const char* kTiny = R"(name: cost
base:
  model: {preset: 32}
  diffusion: {diffusion_steps: 1000}
  train: {batch_size: 64, world_size: 2, iterations: 3000, save_interval: 1000, ema_rate: [0.9999, 0.999]}
  data: {path: data}
  eval: {at_iterations: [1000, 3000], sampling_steps: [100], num_samples: 1200, batch_size: 100,
         reference: ref.npz, features: random-inception, ema: "0.9999"}
matrix:
  seed: {key: train.seed, values: [0, 1]}
)";

Expansion expand_text(const test::TempDir& dir, const std::string& text) {
  std::ofstream(dir.file("exp.yaml")) << text;
  return expand(read_experiment_file(dir.file("exp.yaml")));
}

}  // namespace

TEST(CostEstimate, CheckpointBytesUnderKeepEvaluatedAndAll) {
  const CheckpointBytes files = checkpoint_bytes(1000);
  EXPECT_EQ(files.model, 4000);
  EXPECT_EQ(files.ema, 4000);
  EXPECT_EQ(files.optimizer, 8000);  // exp_avg + exp_avg_sq
  // Saves at 100, 200, 300; 100 is sampled. evaluated: model + 2 EMAs at 100 and 300, one optimizer.
  EXPECT_EQ(kept_checkpoint_bytes(files, 2, 100, 300, {100}, "evaluated"), 2 * (4000 + 2 * 4000) + 8000);
  // all prunes nothing: every step keeps its optimizer too.
  EXPECT_EQ(kept_checkpoint_bytes(files, 2, 100, 300, {100}, "all"), 3 * (4000 + 2 * 4000 + 8000));
  // Nothing sampled: only the last step stays.
  EXPECT_EQ(kept_checkpoint_bytes(files, 1, 100, 300, {}, "evaluated"), 4000 + 4000 + 8000);
}

TEST(CostEstimate, SampleNpzBoundsARealNpz) {
  test::TempDir dir;
  const int64_t n = 10, size = 8, channels = 3;
  const std::vector<uint8_t> pixels(static_cast<size_t>(n * size * size * channels), 7);
  write_npz(dir.file("s.npz"), {{"arr_0", make_npy_array(pixels, {n, size, size, channels})}});
  const auto real = static_cast<int64_t>(std::filesystem::file_size(dir.file("s.npz")));
  const int64_t estimate = sample_npz_bytes(n, size, channels);
  EXPECT_EQ(estimate, 1920 + kNpzOverheadBytes);
  EXPECT_LE(real, estimate);
  EXPECT_GT(real, 1920);
}

TEST(CostEstimate, TinyExperimentFromTheThroughputTable) {
  test::TempDir dir;
  const Expansion e = expand_text(dir, kTiny);
  const auto tasks = plan_tasks(e.runs);
  ASSERT_EQ(tasks.size(), 2u * 5);  // per run: train, 2 x (sample, eval)
  std::vector<bool> to_run(tasks.size(), true);
  to_run[5] = false;  // the second run's train task is done: it costs nothing more
  const CostEstimate c = estimate_cost(e.runs, tasks, to_run, {});
  const Throughput* row = throughput_for(32, kParams32);
  ASSERT_NE(row, nullptr);
  ASSERT_EQ(row->train_images_per_s, 400);
  ASSERT_EQ(row->sample_forwards_per_s, 1200);
  // train: 3000 steps x 64 x 2 images / 400 img/s = 960 GPU-s, on 2 GPUs 480 s.
  ASSERT_EQ(tasks[0].kind, "train");
  EXPECT_EQ(c.tasks[0].source, CostSource::kEstimate);
  EXPECT_DOUBLE_EQ(*c.tasks[0].gpu_hours, 960.0 / 3600);
  EXPECT_DOUBLE_EQ(*c.tasks[0].hours, 480.0 / 3600);
  // sample: 1200 samples x 100 steps / 1200 forwards/s = 100 s; eval: 1200 / 1000 img/s.
  ASSERT_EQ(tasks[1].kind, "sample");
  EXPECT_DOUBLE_EQ(*c.tasks[1].gpu_hours, 100.0 / 3600);
  EXPECT_DOUBLE_EQ(*c.tasks[2].gpu_hours, 1.2 / 3600);
  // Checkpoints: saves at 1000, 2000, 3000; 1000 and 3000 sampled. Per step model + 2 EMAs = 12 P
  // bytes, the optimizer 8 P: evaluated 2 x 12 P + 8 P, all 3 x (12 P + 8 P).
  EXPECT_EQ(c.tasks[0].disk_bytes, 32 * kParams32);
  EXPECT_EQ(c.tasks[0].disk_bytes_keep_all, 60 * kParams32);
  EXPECT_EQ(c.tasks[1].disk_bytes, int64_t{1200} * 32 * 32 * 3 + kNpzOverheadBytes);
  // Totals: 9 tasks to run (one train, four samples, four evals).
  EXPECT_EQ(c.totals.tasks, 9);
  EXPECT_NEAR(c.totals.gpu_hours_estimate, (960 + 4 * 100 + 4 * 1.2) / 3600, 1e-12);
  EXPECT_EQ(c.totals.gpu_hours_measured, 0);
  EXPECT_EQ(c.totals.checkpoint_bytes, 32 * kParams32);
  EXPECT_EQ(c.totals.checkpoint_bytes_keep_all, 60 * kParams32);
  EXPECT_EQ(c.totals.sample_bytes, 4 * (int64_t{1200} * 32 * 32 * 3 + kNpzOverheadBytes));
  EXPECT_EQ(c.totals.sample_files, 4);
}

TEST(CostEstimate, MeasuredSpeedWinsAndCarriesToARunOfTheSameShape) {
  test::TempDir dir;
  const Expansion e = expand_text(dir, kTiny);
  const auto tasks = plan_tasks(e.runs);
  std::map<std::string, RunHistory> history;
  history[e.runs[0].run_id].train = MeasuredRate{0.5, 200, "old-train", "cuda"};
  history[e.runs[0].run_id].sample = MeasuredRate{0.002, 60000, "old-sample", "cuda"};
  const CostEstimate c = estimate_cost(e.runs, tasks, std::vector<bool>(tasks.size(), true), history);
  // 3000 steps x 0.5 s on 2 GPUs; the other seed's run has the same model and batch: the same.
  for (size_t i : {0, 5}) {
    ASSERT_EQ(tasks[i].kind, "train");
    EXPECT_EQ(c.tasks[i].source, CostSource::kMeasured) << i;
    EXPECT_DOUBLE_EQ(*c.tasks[i].gpu_hours, 3000 * 0.5 * 2 / 3600) << i;
    EXPECT_NE(c.tasks[i].detail.find("old-train (cuda)"), std::string::npos) << c.tasks[i].detail;
  }
  EXPECT_DOUBLE_EQ(*c.tasks[1].gpu_hours, 1200 * 100 * 0.002 / 3600);
  EXPECT_EQ(c.tasks[2].source, CostSource::kEstimate);  // eval: always the table
  EXPECT_NEAR(c.totals.gpu_hours_measured, (2 * 3000.0 + 4 * 240) / 3600, 1e-12);
}

TEST(CostEstimate, AModelOutsideTheTableIsUnknown) {
  test::TempDir dir;
  std::string text = kTiny;
  text.replace(text.find("{preset: 32}"), 12,
               "{image_size: 8, num_channels: 32, channel_mult: [1], num_res_blocks: 1, attention_resolutions: []}");
  const Expansion e = expand_text(dir, text);
  const auto tasks = plan_tasks(e.runs);
  const CostEstimate c = estimate_cost(e.runs, tasks, std::vector<bool>(tasks.size(), true), {});
  EXPECT_EQ(c.tasks[0].source, CostSource::kUnknown);
  EXPECT_FALSE(c.tasks[0].gpu_hours.has_value());
  EXPECT_EQ(c.totals.unknown, 2 + 4);   // trains and samples; evals have their own row
  EXPECT_GT(c.tasks[0].disk_bytes, 0);  // the disk is known whatever the speed
}

TEST(CostEstimate, AdmGpCostsThreeAdmSteps) {
  test::TempDir dir;
  std::string text = kTiny;
  text.replace(text.find("world_size: 2,"), 14, "world_size: 2, method: adm-gp,");
  const Expansion e = expand_text(dir, text);
  const auto tasks = plan_tasks(e.runs);
  const CostEstimate c = estimate_cost(e.runs, tasks, std::vector<bool>(tasks.size(), true), {});
  EXPECT_DOUBLE_EQ(*c.tasks[0].gpu_hours, 3 * 960.0 / 3600);
}

TEST(CostEstimate, SecondsPerStepIsTheMedianSoAPauseDoesNotCount) {
  // 0.5 s per step, then a stop of ~16 minutes and a resume at step 30.
  EXPECT_DOUBLE_EQ(*seconds_per_step({{0, 0}, {10, 5}, {20, 10}, {30, 1000}, {40, 1005}, {50, 1010}}), 0.5);
  EXPECT_FALSE(seconds_per_step({{10, 5}}).has_value());
  EXPECT_FALSE(seconds_per_step({}).has_value());
}

TEST(CostEstimate, BytesText) {
  EXPECT_EQ(bytes_text(0), "0 B");
  EXPECT_EQ(bytes_text(1023), "1023 B");
  EXPECT_EQ(bytes_text(1536), "1.5 KiB");
  EXPECT_EQ(bytes_text(int64_t{32} * kParams32), "1.7 GiB");
  // Small values: whole bytes, then three significant digits with trailing zeros dropped.
  EXPECT_EQ(bytes_text(1), "1 B");
  EXPECT_EQ(bytes_text(1000), "1000 B");
  EXPECT_EQ(bytes_text(1024), "1 KiB");
  EXPECT_EQ(bytes_text(1025), "1 KiB");
  EXPECT_EQ(bytes_text(1234), "1.21 KiB");
  EXPECT_EQ(bytes_text(int64_t{10} * 1024), "10 KiB");
  EXPECT_EQ(bytes_text(int64_t{1536} * 1024 * 1024), "1.5 GiB");
  EXPECT_EQ(bytes_text(int64_t{100} * 1024 - 1), "100 KiB");  // 99.999 KiB rounds to 100, not "1e+02"
  // 1000 to 1023 of a unit: fixed notation, never "1e+03 KiB" or "1.02e+03 GiB".
  EXPECT_EQ(bytes_text(int64_t{1000} * 1024), "1000 KiB");
  EXPECT_EQ(bytes_text(int64_t{1023} * 1024 * 1024), "1023 MiB");
  EXPECT_EQ(bytes_text(int64_t{1023} * 1024 * 1024 * 1024), "1023 GiB");
  EXPECT_EQ(bytes_text(int64_t{1000} * 1024 * 1024 * 1024 * 1024), "1000 TiB");
  // What rounds to 1024 of a unit is 1 of the next.
  EXPECT_EQ(bytes_text(1024 * 1024 - 1), "1 MiB");
  EXPECT_EQ(bytes_text(int64_t{1024} * 1024 * 1024 - 1), "1 GiB");
  // The largest unit has no next one: it counts on past 1023.
  EXPECT_EQ(bytes_text(int64_t{2048} * 1024 * 1024 * 1024 * 1024 * 1024), "2048 PiB");
}
