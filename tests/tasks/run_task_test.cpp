// run_task in-process: a task file with a bad spec is a ConfigError naming the key; a tiny train
// task and the sample task after it write what `repro run` expects of them.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/util/errors.h"
#include "base/util/exit_code.h"
#include "base/util/npy.h"
#include "runner/plan/task_spec.h"
#include "tasks/run_task.h"
#include "tests/support/task_file_writer.h"
#include "tests/support/test_support.h"
#include "tests/support/tiny_data.h"
#include "tests/support/tiny_unet.h"

using namespace repro;
using nlohmann::json;
namespace fs = std::filesystem;
using test::write_task_file;

namespace {

runner::SampleTaskSpec tiny_sample() {
  runner::SampleTaskSpec s;
  s.batch_size = 2;
  s.checkpoint_step = 2;
  s.ema = "0.9999";
  s.num_samples = 3;
  s.sampler = "ancestral";
  s.seed = 7;
  s.steps = 4;
  return s;
}

// The value of `key` in the last record of type `type` in an events file; null when none.
json last_event(const std::string& events, const std::string& type) {
  std::ifstream in(events);
  std::string line;
  json found;
  while (std::getline(in, line))
    if (const json e = json::parse(line); e.value("type", "") == type) found = e;
  return found;
}

int run(const std::string& path) {
  std::ostringstream err;
  return tasks::run_task(path, {/*threads=*/2, {}}, err);
}

}  // namespace

TEST(RunTask, BadSpecIsAConfigErrorNamingTheKey) {
  test::TempDir dir;
  json spec = tiny_sample();
  spec.erase("seed");
  const std::string path = write_task_file(dir, "r1-sample-a", "sample", spec);
  try {
    run(path);
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.key_path(), "spec.seed");
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
  spec = tiny_sample();
  spec["steps"] = "four";
  try {
    run(write_task_file(dir, "r1-sample-b", "sample", spec));
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.key_path(), "spec.steps");
  }
}

TEST(RunTask, BadTaskFileIsAConfigErrorNamingTheKey) {
  test::TempDir dir;
  const std::string bad_kind = write_task_file(dir, "r1-x", "distill", json::object());
  try {
    run(bad_kind);
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.key_path(), "kind");
  }
  std::ofstream(dir.file("v2.json")) << R"({"v": 2})";
  try {
    run(dir.file("v2.json"));
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.key_path(), "v");
  }
}

// A released run's sample task names its file ("released") and the digest it must have
// (spec.checkpoint_sha256): one without the other is a ConfigError before the task writes anything.
TEST(RunTask, ReleasedMemberAndCheckpointDigestGoTogether) {
  test::TempDir dir;
  const std::string file = dir.write("ema.pt", "abc");
  const json released = {{"checkpoint", file}, {"config", std::string(test::kTinyUnet8Yaml)}};
  runner::SampleTaskSpec pinned = tiny_sample();
  pinned.checkpoint_sha256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";  // SHA-256("abc")
  struct Case {
    std::string task_id;
    json spec;
    bool with_released;
    std::string says;
  };
  for (const Case& c : {Case{"r1-sample-a", json(tiny_sample()), true, "only the file"},
                        Case{"r1-sample-b", json(pinned), false, "only the digest"}}) {
    const std::string path = write_task_file(dir, c.task_id, "sample", c.spec);
    if (c.with_released) {
      json t = json::parse(test::read_text(path));
      t["released"] = released;
      std::ofstream(path) << t.dump(2);
    }
    const ConfigError e = test::config_error([&] { run(path); });
    EXPECT_EQ(e.key_path(), "released") << e.what();
    EXPECT_NE(std::string(e.what()).find(c.says), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    EXPECT_FALSE(fs::exists(dir.file("r1/train.yaml"))) << c.task_id;
    EXPECT_FALSE(fs::exists(dir.file("r1/tasks/" + c.task_id + ".events.jsonl"))) << c.task_id;
  }
}

TEST(RunTask, SampleBeforeItsCheckpointIsADataError) {
  test::TempDir dir;
  const std::string path = write_task_file(dir, "r1-sample-a", "sample", tiny_sample());
  std::ofstream(dir.file("r1/train.yaml")) << test::kTinyUnet8Yaml << "data:\n  path: data.npz\n";
  EXPECT_THROW(run(path), DataError);
}

TEST(RunTask, TrainsThenSamplesTheCheckpoint) {
  test::TempDir dir;
  const std::string data = test::write_dataset(dir, 8);
  const std::string config = std::string(test::kTinyUnet8Yaml) +
                             "diffusion:\n  diffusion_steps: 20\n"
                             "train:\n  batch_size: 4\n  iterations: 2\n  save_interval: 2\n  log_interval: 1\n"
                             "data:\n  path: " +
                             data + "\n";
  const runner::TrainTaskSpec train{config, R"({"train":{"seed":0}})", 2};
  const std::string train_file = write_task_file(dir, "r1-train2", "train", json::parse(runner::spec_text(train)));
  ASSERT_EQ(run(train_file), to_int(ExitCode::kOk));
  const fs::path run_dir = dir.file("r1");
  EXPECT_TRUE(fs::exists(run_dir / "train.yaml"));
  EXPECT_TRUE(fs::exists(run_dir / runner::checkpoint_file(tiny_sample())));
  EXPECT_EQ(last_event((run_dir / "tasks/r1-train2.events.jsonl").string(), "end").value("status", ""), "completed");

  const std::string sample_file = write_task_file(dir, "r1-sample-a", "sample", tiny_sample());
  ASSERT_EQ(run(sample_file), to_int(ExitCode::kOk));
  const auto arrays = read_npz((run_dir / "samples/r1-sample-a.npz").string());
  EXPECT_EQ(arrays.at("arr_0").shape, (std::vector<int64_t>{3, 8, 8, 3}));
  const std::string events = (run_dir / "tasks/r1-sample-a.events.jsonl").string();
  EXPECT_EQ(last_event(events, "start")["provenance"].value("seed", ""), "7");
  EXPECT_EQ(last_event(events, "artifact").value("path", ""), "samples/r1-sample-a.npz");
  EXPECT_EQ(last_event(events, "end").value("status", ""), "completed");
}
