// `repro run` end to end on a toy experiment: ADM and ADM-IP trained, sampled and evaluated as
// real task processes into a real SQLite store; a rerun launches nothing; `repro status` shows
// the results; a bad experiment fails before anything launches.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "tests/support/test_support.h"
#include "tests/support/world_size_experiment.h"

using namespace repro;
namespace fs = std::filesystem;

namespace {

using test::repro_cli;

const char* kExperiment = R"(name: toy
base:
  model: {image_size: 8, num_channels: 32, channel_mult: [1, 1], num_res_blocks: 1,
          attention_resolutions: [4], num_head_channels: 32, learn_sigma: true}
  diffusion: {diffusion_steps: 20}
  train: {batch_size: 4, iterations: 4, save_interval: 2, log_interval: 1}
  data: {path: data.npz}
  eval: {at_iterations: [2, 4], sampling_steps: [5], num_samples: 6, batch_size: 6, reference: ref.npz,
         metrics: [fid, sfid, is, pr], features: random-inception}
matrix:
  method:
    - {name: adm, train: {method: adm}}
    - {name: adm-ip, train: {method: adm-ip, gamma: 0.1}}
)";

}  // namespace

TEST(RunCli, TrainsSamplesEvaluatesAndResumesNothing) {
  test::TempDir dir;
  ASSERT_EQ(test::run_python("import numpy as np\nrng = np.random.default_rng(0)\n"
                             "np.savez('data.npz', rng.integers(0, 256, (16, 8, 8, 3), dtype=np.uint8))\n"
                             "np.savez('ref.npz', rng.integers(0, 256, (10, 8, 8, 3), dtype=np.uint8))\n",
                             dir.path()),
            0);
  std::ofstream(dir.file("exp.yaml")) << kExperiment;
  const std::string project = dir.file("proj");
  std::string out;
  ASSERT_EQ(repro_cli("run " + dir.file("exp.yaml") + " --project " + project + " --dry-run --json", &out), 0) << out;
  auto plan = nlohmann::json::parse(out);
  EXPECT_EQ(plan["runs"].size(), 2u);
  EXPECT_EQ(plan["tasks"].size(), 2u * (1 + 2 + 2));  // per run: train, 2 checkpoints x (sample + eval)
  EXPECT_FALSE(fs::exists(project + "/repro.db"));    // a dry run writes nothing

  ASSERT_EQ(repro_cli("run " + dir.file("exp.yaml") + " --project " + project + " --max-parallel 2", &out), 0) << out;
  EXPECT_NE(out.find("done 10, already done 0, failed 0"), std::string::npos) << out;
  ASSERT_EQ(repro_cli("status toy --project " + project + " --json", &out), 0) << out;
  auto status = nlohmann::json::parse(out);
  int results = 0;
  for (const auto& run : status[0]["runs"])
    for (const auto& task : run["tasks"]) {
      EXPECT_EQ(task["state"], "done") << task.dump();
      if (task["kind"] == "eval") {
        ++results;
        for (const char* m : {"fid", "sfid", "is", "precision", "recall"})
          EXPECT_TRUE(task["results"].contains(m)) << m;
        EXPECT_GE(task["results"]["fid"].get<double>(), 0.0);
        EXPECT_GE(task["results"]["is"].get<double>(), 1.0 - 1e-9);
      }
      if (task["kind"] == "train") {
        EXPECT_EQ(task["step"], 4);
      }
    }
  EXPECT_EQ(results, 4);
  // Every sample batch is the reference's format: uint8 [6, 8, 8, 3].
  for (const auto& e : fs::recursive_directory_iterator(project)) {
    if (e.path().extension() != ".npz") continue;
    EXPECT_EQ(test::run_python("import numpy as np\na = np.load('" + e.path().string() +
                                   "')['arr_0']\nassert a.dtype == np.uint8 and a.shape == (6, 8, 8, 3), a.shape\n",
                               dir.path()),
              0);
  }
  // Again: everything is done, nothing launches.
  ASSERT_EQ(repro_cli("run " + dir.file("exp.yaml") + " --project " + project, &out), 0) << out;
  EXPECT_NE(out.find("done 0, already done 10"), std::string::npos) << out;
  // More iterations change nothing of the run's identity: only the new checkpoint's tasks are new.
  ASSERT_EQ(repro_cli("run " + dir.file("exp.yaml") + " --project " + project +
                          " --only method=adm --set train.iterations=6 --set eval.at_iterations=[6] --dry-run",
                      &out),
            0)
      << out;
  EXPECT_NE(out.find("launch train"), std::string::npos) << out;
  // And for real: the longer training is a new task that resumes the run from step 4.
  ASSERT_EQ(repro_cli("run " + dir.file("exp.yaml") + " --project " + project +
                          " --only method=adm --set train.iterations=6 --set eval.at_iterations=[6]",
                      &out),
            0)
      << out;
  EXPECT_NE(out.find("done 3, already done 0"), std::string::npos) << out;
  ASSERT_EQ(repro_cli("status toy --project " + project + " --json", &out), 0) << out;
  bool longer = false;
  const auto after = nlohmann::json::parse(out);
  for (const auto& run : after[0]["runs"])
    for (const auto& task : run["tasks"])
      if (task["task_id"].get<std::string>().find("-train6") != std::string::npos) {
        longer = true;
        EXPECT_EQ(task["state"], "done");
        EXPECT_EQ(task["step"], 6);
      }
  EXPECT_TRUE(longer) << out;
}

TEST(RunCli, AWorldSizeRunTrainsAsThatManyProcessesInThatManySlots) {
  test::TempDir dir;
  ASSERT_TRUE(test::write_world_size_experiment(dir));
  const std::string run = "run " + dir.file("exp.yaml") + " --project " + dir.file("proj");
  std::string out;
  auto run_id = [&](const std::string& extra) {
    EXPECT_EQ(repro_cli(run + " --dry-run --json --max-parallel 2" + extra, &out), 0) << out;
    return nlohmann::json::parse(out)["runs"][0]["run_id"].get<std::string>();
  };
  // The process count is part of the run's identity; left out (0) it counts as 1.
  const std::string id = run_id("");
  EXPECT_EQ(nlohmann::json::parse(out)["tasks"][0]["processes"], 2) << out;
  // The dry run says so before anything launches: two CPU processes never fit one slot (exit 7).
  ASSERT_EQ(repro_cli(run + " --dry-run", &out), 7) << out;
  EXPECT_NE(out.find("train  " + id + "-train4  (2 processes, 0 GPUs)"), std::string::npos) << out;
  EXPECT_NE(out.find("NEVER FITS: needs 2 CPU processes at once"), std::string::npos) << out;
  ASSERT_EQ(repro_cli(run + " --dry-run --max-parallel 2", &out), 0) << out;
  EXPECT_EQ(out.find("NEVER FITS"), std::string::npos) << out;
  EXPECT_NE(id, run_id(" --set train.world_size=1"));
  EXPECT_EQ(run_id(" --set train.world_size=0"), run_id(" --set train.world_size=1"));

  // Two CPU processes never fit in one slot: the task fails at once, saying why.
  EXPECT_EQ(repro_cli(run + " --max-parallel 1", &out), 7) << out;
  EXPECT_NE(out.find("needs 2 CPU processes at once"), std::string::npos) << out;
  ASSERT_EQ(repro_cli(run + " --max-parallel 2", &out), 0) << out;
  const fs::path run_dir = fs::path(dir.file("proj")) / "runs" / id;
  EXPECT_TRUE(fs::exists(run_dir / "checkpoints" / "model000004.pt"));
  std::ifstream resolved(run_dir / "config.resolved.json");
  EXPECT_EQ(nlohmann::json::parse(resolved)["train"]["world_size"], 2);
  std::string logs;
  for (const auto& e : fs::directory_iterator(run_dir / "logs")) {
    std::ifstream in(e.path());
    logs += std::string(std::istreambuf_iterator<char>(in), {});
  }
  EXPECT_NE(logs.find("launching 2 ranks"), std::string::npos) << logs;
}

TEST(RunCli, ABadExperimentFailsBeforeAnythingLaunches) {
  test::TempDir dir;
  std::string text = kExperiment;
  text.replace(text.find("gamma: 0.1"), 10, "gamma: -1");
  std::ofstream(dir.file("exp.yaml")) << text;
  std::string out;
  EXPECT_EQ(repro_cli("run " + dir.file("exp.yaml") + " --project " + dir.file("proj"), &out), 2);
  EXPECT_NE(out.find("run method=adm-ip"), std::string::npos) << out;
  EXPECT_NE(out.find("train.gamma"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(dir.file("proj/repro.db")));
  EXPECT_EQ(repro_cli("status --project " + dir.file("proj"), &out), 3);
}
