// train.keep in the trainer (TrainerOptions::keep_steps): after each save the files the policy
// does not keep are deleted, and a run resumed from what is left continues bit for bit as one that
// never stopped; a crash between a save and its pruning leaves extra files only, which the next
// save removes.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "core/train/trainer.h"
#include "tests/support/test_support.h"
#include "tests/support/tiny_data.h"
#include "tests/support/tiny_unet.h"
#include "train_data/image_sources.h"

using namespace repro;
using namespace repro::core;
using repro::train_data::NpzImageSource;
namespace fs = std::filesystem;

namespace {

DiffusionConfig diffusion() {
  DiffusionConfig d;
  d.learn_sigma = true;
  d.diffusion_steps = 2;
  return d;
}

UNetConfig model() {
  UNetConfig c = test::tiny_unet(8, {1, 1});
  c.dropout = 0.1;  // the global RNG must survive the resume too
  return c;
}

// Saves at 3, 6, 9, 12.
TrainConfig train(int64_t iterations) {
  TrainConfig t;
  t.method = "adm-ip";
  t.batch_size = 4;
  t.lr = 1e-3;
  t.ema_rate = {0.99};
  t.iterations = iterations;
  t.log_interval = 3;
  t.save_interval = 3;
  t.seed = 7;
  return t;
}

struct TrainedRun {
  TrainResult result;
  std::vector<torch::Tensor> weights;  // model parameters, then the EMA
};

TrainedRun train_to(const std::string& data, const std::string& run_dir, int64_t iterations, bool resume,
                    std::optional<std::vector<int64_t>> keep_steps) {
  NpzImageSource source(data, true, 11);
  TrainerOptions o;
  o.run_dir = run_dir;
  o.device = torch::kCPU;
  o.keep_steps = std::move(keep_steps);
  Trainer t(model(), diffusion(), train(iterations), source, o);
  TrainedRun run;
  run.result = t.run(resume);
  for (const auto& p : t.model()->parameters()) run.weights.push_back(p.detach().clone());
  for (const auto& s : t.emas()[0].shadow()) run.weights.push_back(s.clone());
  return run;
}

std::set<std::string> checkpoint_files(const std::string& run_dir) {
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(fs::path(run_dir) / "checkpoints")) names.insert(e.path().filename());
  return names;
}

// Every file of the checkpoint at step k ("000009"), or only its model and EMA.
std::set<std::string> files_at(const std::string& k, bool whole) {
  std::set<std::string> out;
  std::vector<std::string> names = {"model" + k + ".pt", "ema_0.99_" + k + ".pt"};
  if (whole) names.insert(names.end(), {"opt" + k + ".pt", "state" + k + ".json"});
  for (const auto& n : names) {
    out.insert(n);
    out.insert(n + ".sha256");
  }
  return out;
}

std::set<std::string> operator+(std::set<std::string> a, const std::set<std::string>& b) {
  a.insert(b.begin(), b.end());
  return a;
}

void expect_same_weights(const TrainedRun& got, const TrainedRun& want) {
  ASSERT_EQ(got.weights.size(), want.weights.size());
  for (size_t i = 0; i < got.weights.size(); ++i) ASSERT_TRUE(torch::equal(got.weights[i], want.weights[i])) << i;
}

}  // namespace

TEST(CheckpointPruning, EachSaveKeepsTheEvaluatedStepsAndTheLatestAndResumeIsExact) {
  torch::set_num_threads(1);
  test::TempDir dir;
  const std::string data = test::write_dataset(dir, 10);
  const TrainedRun straight = train_to(data, dir.file("a"), 12, false, std::nullopt);
  EXPECT_EQ(checkpoint_files(dir.file("a")),
            files_at("000003", true) + files_at("000006", true) + files_at("000009", true) + files_at("000012", true));

  // Stopped after the save (and pruning) at 9: step 3 is evaluated, 9 is the latest.
  const TrainedRun first = train_to(data, dir.file("b"), 9, false, std::vector<int64_t>{3, 12});
  EXPECT_EQ(first.result.step, 9);
  EXPECT_EQ(checkpoint_files(dir.file("b")), files_at("000003", false) + files_at("000009", true));
  torch::manual_seed(999);  // whatever happened in between must not matter
  const TrainedRun second = train_to(data, dir.file("b"), 12, true, std::vector<int64_t>{3, 12});
  EXPECT_EQ(second.result.resumed_from, 9);
  EXPECT_EQ(second.result.step, 12);
  expect_same_weights(second, straight);
  EXPECT_EQ(checkpoint_files(dir.file("b")), files_at("000003", false) + files_at("000012", true));
  const auto events = test::read_events(dir.file("b/events.jsonl"));
  int pruned = 0;
  for (const auto& e : events) pruned += e["type"] == "pruned";
  EXPECT_EQ(pruned, 3);  // at 6 (3's optimizer), 9 (6), and 12 (9)
}

TEST(CheckpointPruning, ACrashBeforePruningLeavesExtraFilesThatTheNextSaveRemoves) {
  torch::set_num_threads(1);
  test::TempDir dir;
  const std::string data = test::write_dataset(dir, 10);
  // Saves that were never pruned, as a process killed after each save would leave them.
  train_to(data, dir.file("run"), 9, false, std::nullopt);
  const auto all = files_at("000003", true) + files_at("000006", true) + files_at("000009", true);
  ASSERT_EQ(checkpoint_files(dir.file("run")), all);
  // And a pruning killed part-way: step 6's state file went first, its optimizer stayed.
  fs::remove(fs::path(dir.file("run")) / "checkpoints" / "state000006.json");
  const TrainedRun resumed = train_to(data, dir.file("run"), 12, true, std::vector<int64_t>{6});
  EXPECT_EQ(resumed.result.resumed_from, 9);
  EXPECT_EQ(checkpoint_files(dir.file("run")), files_at("000006", false) + files_at("000012", true));
}

TEST(CheckpointPruning, KeepAllOrUnknownStepsDeleteNothing) {
  torch::set_num_threads(1);
  test::TempDir dir;
  const std::string data = test::write_dataset(dir, 10);
  NpzImageSource source(data, true, 11);
  TrainerOptions o;
  o.run_dir = dir.file("all");
  o.device = torch::kCPU;
  o.keep_steps = std::vector<int64_t>{};
  TrainConfig t = train(6);
  t.keep = "all";
  Trainer(model(), diffusion(), t, source, o).run(false);
  EXPECT_EQ(checkpoint_files(dir.file("all")), files_at("000003", true) + files_at("000006", true));
}
