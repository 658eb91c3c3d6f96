// `repro run X --dry-run` as a user runs it: per task whether it fits, its GPU-hours and where
// they come from (unknown for a model outside the throughput table, measured once the store has a
// finished run of it), disk totals, and the pre-flight of its inputs with exit 7 when something
// cannot run (a missing reference, weights named like NVIDIA's with another digest).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "tests/support/test_support.h"
#include "tests/support/tiny_project.h"

using namespace repro;

namespace {

nlohmann::json task_of(const nlohmann::json& plan, const std::string& kind) {
  for (const auto& t : plan["tasks"])
    if (t["kind"] == kind && t["action"] != "skip") return t;
  return nullptr;
}

const nlohmann::json* check_of(const nlohmann::json& plan, const std::string& what) {
  for (const auto& c : plan["preflight"])
    if (c["what"] == what) return &c;
  return nullptr;
}

}  // namespace

TEST(DryRunCli, UnknownCostBecomesMeasuredOnceARunFinished) {
  test::TempDir dir;
  const std::string project = dir.file("proj");
  std::string out;
  ASSERT_EQ(test::run_tiny_project(dir, project, &out), 0) << out;
  // Four iterations of the same run: a new train task (resuming), a new sample and eval.
  const std::string run = "run " + dir.file("exp.yaml") + " --project " + project +
                          " --set train.iterations=4 --set eval.at_iterations=[4] --dry-run";
  ASSERT_EQ(test::repro_cli(run + " --json", &out), 0) << out;
  const auto plan = nlohmann::json::parse(out);
  EXPECT_TRUE(plan["can_run"]);
  const auto train = task_of(plan, "train");
  ASSERT_TRUE(train.is_object()) << out;
  EXPECT_EQ(train["cost_source"], "measured") << train.dump();
  EXPECT_GT(train["gpu_hours"].get<double>(), 0);
  EXPECT_TRUE(train["fits"]);
  EXPECT_EQ(task_of(plan, "sample")["cost_source"], "measured") << out;
  // One npz of 6 samples of 8x8x3 bytes plus its framing; checkpoints of the tiny model at 4.
  EXPECT_EQ(plan["totals"]["sample_files"], 1);
  EXPECT_EQ(plan["totals"]["sample_bytes"], 6 * 8 * 8 * 3 + 512);
  EXPECT_GT(plan["totals"]["checkpoint_bytes"].get<int64_t>(), 0);
  ASSERT_NE(check_of(plan, "data"), nullptr);
  EXPECT_TRUE((*check_of(plan, "data"))["ok"]);
  // The text form says the same.
  ASSERT_EQ(test::repro_cli(run, &out), 0) << out;
  EXPECT_NE(out.find("GPU-h measured"), std::string::npos) << out;
  EXPECT_NE(out.find("pre-flight (2 inputs):"), std::string::npos) << out;  // data and reference
}

TEST(DryRunCli, AModelOutsideTheTableIsUnknownBeforeItRan) {
  test::TempDir dir;
  ASSERT_TRUE(test::write_numpy_images(dir, "data.npz", 4, 0));
  ASSERT_TRUE(test::write_numpy_images(dir, "ref.npz", 4, 1));
  std::ofstream(dir.file("exp.yaml")) << test::kTinyExperiment;
  std::string out;
  ASSERT_EQ(test::repro_cli("run " + dir.file("exp.yaml") + " --project " + dir.file("p") + " --dry-run --json", &out),
            0)
      << out;
  const auto plan = nlohmann::json::parse(out);
  EXPECT_EQ(task_of(plan, "train")["cost_source"], "unknown");
  EXPECT_TRUE(task_of(plan, "train")["gpu_hours"].is_null());
  EXPECT_EQ(plan["totals"]["unknown"], 2);  // train and sample; the eval has its own estimate
}

TEST(DryRunCli, AMissingReferenceOrForeignWeightsCannotRun) {
  test::TempDir dir;
  ASSERT_TRUE(test::write_numpy_images(dir, "data.npz", 4, 0));
  std::string text = test::kTinyExperiment;
  text.replace(text.find("random-inception"), 16, "inception");
  std::ofstream(dir.file("exp.yaml")) << text;
  std::ofstream(dir.file("inception-2015-12-05.pt")) << "not NVIDIA's weights";
  const std::string run = "REPRO_INCEPTION_WEIGHTS='" + dir.file("inception-2015-12-05.pt") + "' '" +
                          test::repro_binary() + "' run " + dir.file("exp.yaml") + " --project " + dir.file("p") +
                          " --dry-run";
  std::string out;
  EXPECT_EQ(test::run_command(run, &out), 7) << out;
  EXPECT_NE(out.find("FAILED   reference          " + dir.file("ref.npz")), std::string::npos) << out;
  EXPECT_NE(out.find("is not the published f58cb9b6"), std::string::npos) << out;
  EXPECT_NE(out.find("cannot run here: 2 inputs missing or mismatched; exit 7"), std::string::npos) << out;
  EXPECT_FALSE(std::filesystem::exists(dir.file("p/repro.db")));  // a dry run writes nothing
  // With the reference there and the weights named as any file, it can run.
  ASSERT_TRUE(test::write_numpy_images(dir, "ref.npz", 4, 1));
  std::filesystem::rename(dir.file("inception-2015-12-05.pt"), dir.file("mine.pt"));
  EXPECT_EQ(test::run_command("REPRO_INCEPTION_WEIGHTS='" + dir.file("mine.pt") + "' '" + test::repro_binary() +
                                  "' run " + dir.file("exp.yaml") + " --project " + dir.file("p") + " --dry-run --json",
                              &out),
            0)
      << out;
  EXPECT_TRUE(nlohmann::json::parse(out)["can_run"]);
}
