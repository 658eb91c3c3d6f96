// A run directory's checkpoint files against hostile or leftover names: a stray
// state<20 digits>.json does not stop a resume, temp files of killed saves are swept, and a full
// disk while saving the optimizer is an IoError naming the file.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <filesystem>
#include <fstream>
#include <memory>

#include "base/train/checkpoint_names.h"
#include "base/util/errors.h"
#include "base/util/file_io.h"
#include "core/train/train_state.h"
#include "tests/support/test_support.h"

namespace repro::test {
namespace {

namespace fs = std::filesystem;
using core::checkpoint_step;
using core::temp_file_pid;

void touch(const fs::path& path) { std::ofstream(path) << "x"; }

// A pid that names no process: a child's, after it has exited and been reaped.
int dead_pid() {
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  int status = 0;
  ::waitpid(child, &status, 0);
  return child;
}

TEST(CheckpointNames, StepsParseOnlyWhenTheyFitInt64) {
  EXPECT_EQ(checkpoint_step("state000010.json", "state", ".json"), 10);
  EXPECT_EQ(checkpoint_step("state9223372036854775807.json", "state", ".json"), INT64_MAX);
  EXPECT_EQ(checkpoint_step("state9223372036854775808.json", "state", ".json"), std::nullopt);
  EXPECT_EQ(checkpoint_step("state99999999999999999999.json", "state", ".json"), std::nullopt);
  EXPECT_EQ(checkpoint_step("state.json", "state", ".json"), std::nullopt);
  EXPECT_EQ(checkpoint_step("state-1.json", "state", ".json"), std::nullopt);
  EXPECT_EQ(checkpoint_step("state1a.json", "state", ".json"), std::nullopt);
  EXPECT_EQ(checkpoint_step("model000010.pt", "state", ".json"), std::nullopt);
}

TEST(CheckpointNames, TempFilePids) {
  EXPECT_EQ(temp_file_pid("opt000010.pt.tmp-1234"), 1234);
  EXPECT_EQ(temp_file_pid("state000010.json.sha256.tmp-7"), 7);
  EXPECT_EQ(temp_file_pid("opt000010.pt"), std::nullopt);
  EXPECT_EQ(temp_file_pid("opt.pt.tmp-"), std::nullopt);
  EXPECT_EQ(temp_file_pid("opt.pt.tmp-12x"), std::nullopt);
  EXPECT_EQ(temp_file_pid("opt.pt.tmp-0"), std::nullopt);
  EXPECT_EQ(temp_file_pid("opt.pt.tmp-99999999999999999999"), std::nullopt);
  EXPECT_EQ(temp_file_pid(".tmp-12"), std::nullopt);
}

TEST(TrainState, AStrayStateFileWithAHugeStepIsIgnoredWithAWarning) {
  TempDir dir;
  touch(dir.path() / "state99999999999999999999.json");
  std::vector<std::string> warnings;
  std::optional<core::TrainState> found;
  EXPECT_NO_THROW(found = core::find_latest_valid_checkpoint(dir.path().string(), &warnings));
  EXPECT_FALSE(found.has_value());
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0], "state99999999999999999999.json ignored: not state<step>.json with a step that fits 64 bits");
}

TEST(TrainState, SweepsTempFilesOfDeadProcessesOnlyInTheRunDirectory) {
  TempDir dir;
  const fs::path run = dir.path() / "run", ckpt = run / "checkpoints", other = dir.path() / "other";
  fs::create_directories(ckpt);
  fs::create_directories(other);
  const std::string dead = std::to_string(dead_pid()), alive = std::to_string(::getppid());
  touch(ckpt / ("opt000010.pt.tmp-" + dead));
  touch(ckpt / ("model000010.pt.tmp-" + dead));
  touch(run / ("config.resolved.json.tmp-" + dead));
  touch(ckpt / ("ema_0.9999_000010.pt.tmp-" + alive));               // a live writer's
  touch(ckpt / ("opt000020.pt.tmp-" + std::to_string(::getpid())));  // this process's own
  touch(ckpt / "opt000010.pt");
  touch(other / ("opt000010.pt.tmp-" + dead));
  fs::create_directories(ckpt / ("folder.tmp-" + dead));

  auto removed = core::sweep_stale_temp_files(run.string());
  std::sort(removed.begin(), removed.end());
  ASSERT_EQ(removed.size(), 3u);
  EXPECT_EQ(removed[0], (ckpt / ("model000010.pt.tmp-" + dead)).string());
  EXPECT_EQ(removed[1], (ckpt / ("opt000010.pt.tmp-" + dead)).string());
  EXPECT_EQ(removed[2], (run / ("config.resolved.json.tmp-" + dead)).string());
  EXPECT_TRUE(fs::exists(ckpt / ("ema_0.9999_000010.pt.tmp-" + alive)));
  EXPECT_TRUE(fs::exists(ckpt / ("opt000020.pt.tmp-" + std::to_string(::getpid()))));
  EXPECT_TRUE(fs::exists(ckpt / "opt000010.pt"));
  EXPECT_TRUE(fs::exists(other / ("opt000010.pt.tmp-" + dead)));
  EXPECT_TRUE(fs::exists(ckpt / ("folder.tmp-" + dead)));
  EXPECT_TRUE(core::sweep_stale_temp_files((dir.path() / "missing").string()).empty());
}

// An AdamW that has taken one step over `n` parameters, so its state has moments to save.
std::unique_ptr<torch::optim::AdamW> stepped_adamw(int64_t n) {
  auto w = torch::ones({n}, torch::requires_grad());
  auto optimizer = std::make_unique<torch::optim::AdamW>(std::vector<torch::Tensor>{w});
  w.sum().backward();
  optimizer->step();
  return optimizer;
}

TEST(TrainState, TheOptimizerStateIsWrittenAtomically) {
  TempDir dir;
  const auto optimizer = stepped_adamw(3);
  const std::string path = dir.file("opt000001.pt");
  core::write_optimizer_state(*optimizer, path);
  EXPECT_TRUE(fs::exists(path));
  EXPECT_FALSE(fs::exists(repro::atomic_temp_path(path)));
  torch::optim::AdamW loaded({torch::zeros({3}, torch::requires_grad())});
  EXPECT_NO_THROW(torch::load(loaded, path));
}

// A full disk, without a small filesystem: the temp file the save writes is a link to /dev/full,
// whose every write fails with ENOSPC.
TEST(TrainState, AFullDiskWhileSavingTheOptimizerIsAnIoErrorNamingTheFile) {
  TempDir dir;
  const auto optimizer = stepped_adamw(1000);
  const std::string path = dir.file("opt000001.pt");
  fs::create_symlink("/dev/full", repro::atomic_temp_path(path));
  try {
    core::write_optimizer_state(*optimizer, path);
    FAIL() << "no error";
  } catch (const IoError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("cannot write " + path + ": ", 0), 0u) << e.what();
  }
  EXPECT_FALSE(fs::exists(path));
  EXPECT_FALSE(fs::exists(fs::symlink_status(repro::atomic_temp_path(path))));  // nothing left behind
}

}  // namespace
}  // namespace repro::test
