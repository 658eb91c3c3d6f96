// The train task's pruning (tasks/train_task.cpp): the plan's keep_steps, plus every step a sample
// task file of the run directory reads (another experiment sharing the run), are kept; a sample
// task file that cannot be read means nothing is deleted.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "base/util/exit_code.h"
#include "runner/plan/task_spec.h"
#include "tasks/run_task.h"
#include "tests/support/task_file_writer.h"
#include "tests/support/test_support.h"
#include "tests/support/tiny_data.h"
#include "tests/support/tiny_unet.h"

using namespace repro;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// A train task to 6 steps, a save every 2, whose plan samples nothing (only the latest stays).
std::string train_task_file(const test::TempDir& dir) {
  const std::string config = std::string(test::kTinyUnet8Yaml) +
                             "diffusion:\n  diffusion_steps: 20\n"
                             "train:\n  batch_size: 4\n  iterations: 6\n  save_interval: 2\n  log_interval: 2\n"
                             "data:\n  path: " +
                             test::write_dataset(dir, 8) + "\n";
  const runner::TrainTaskSpec train{config, R"({"train":{"seed":0}})", 6, std::vector<int64_t>{}};
  return test::write_task_file(dir, "r1-train6", "train", json::parse(runner::spec_text(train)));
}

// Another experiment's sample task of the same run, at step 4 (model weights).
void write_other_sample_task(const test::TempDir& dir) {
  runner::SampleTaskSpec s;
  s.batch_size = 2;
  s.checkpoint_step = 4;
  s.ema = "model";
  s.num_samples = 2;
  s.sampler = "ancestral";
  s.steps = 4;
  test::write_task_file(dir, "r1-sample-other", "sample", json::parse(runner::spec_text(s)));
}

std::set<std::string> checkpoints(const test::TempDir& dir) {
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(fs::path(dir.file("r1")) / "checkpoints"))
    if (e.path().extension() != ".sha256") names.insert(e.path().filename());
  return names;
}

}  // namespace

TEST(TrainKeep, StepsOtherSampleTasksOfTheRunReadAreKept) {
  test::TempDir dir;
  const std::string train = train_task_file(dir);
  write_other_sample_task(dir);
  std::ostringstream err;
  ASSERT_EQ(tasks::run_task(train, {/*threads=*/2, {}}, err), to_int(ExitCode::kOk)) << err.str();
  EXPECT_EQ(checkpoints(dir), (std::set<std::string>{"model000004.pt", "ema_0.9999_000004.pt", "model000006.pt",
                                                     "ema_0.9999_000006.pt", "opt000006.pt", "state000006.json"}));
}

TEST(TrainKeep, AnUnreadableSampleTaskFileMeansNothingIsDeleted) {
  test::TempDir dir;
  const std::string train = train_task_file(dir);
  std::ofstream(dir.file("r1/tasks/r1-sample-bad.json")) << "{\"v\": 1, \"kind\": \"sample\"";  // cut short
  std::ostringstream err;
  ASSERT_EQ(tasks::run_task(train, {/*threads=*/2, {}}, err), to_int(ExitCode::kOk)) << err.str();
  EXPECT_EQ(checkpoints(dir).size(), 12u);  // 4 files at each of 2, 4, 6
  EXPECT_NE(err.str().find("r1-sample-bad.json"), std::string::npos) << err.str();
}

TEST(TrainKeep, ATasksFolderThatCannotBeListedMeansNothingIsDeleted) {
  test::TempDir dir;
  // The same train task, its run directory r2, whose tasks/ is a file: listing it fails (ENOTDIR),
  // and the sample task files it would hold are not known.
  json task = json::parse(test::read_text(train_task_file(dir)));
  task["run_dir"] = dir.file("r2");
  task["events"] = dir.file("r2.events.jsonl");
  const std::string train = dir.file("r2-train6.json");
  std::ofstream(train) << task.dump(2);
  fs::create_directories(dir.file("r2"));
  std::ofstream(dir.file("r2/tasks")) << "not a folder";
  std::ostringstream err;
  ASSERT_EQ(tasks::run_task(train, {/*threads=*/2, {}}, err), to_int(ExitCode::kOk)) << err.str();
  size_t files = 0;
  for (const auto& e : fs::directory_iterator(dir.file("r2/checkpoints"))) files += e.path().extension() != ".sha256";
  EXPECT_EQ(files, 12u);  // 4 files at each of 2, 4, 6: the plan's keep_steps ([]) alone would leave 4
  EXPECT_NE(err.str().find("cannot list " + dir.file("r2/tasks")), std::string::npos) << err.str();
}
