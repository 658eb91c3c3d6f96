// `repro train` as users run it: the run directory contract, config errors before any step,
// resume, SIGTERM, and checkpoints the Python side loads as reference state dicts.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "tests/support/test_support.h"
#include "tests/support/tiny_unet.h"

using namespace repro;
namespace fs = std::filesystem;

namespace {

using test::repro_cli;

// A tiny run: 8x8 images written by numpy, the paper's options at toy width.
void write_run_files(const test::TempDir& dir) {
  ASSERT_TRUE(test::write_tiny_train_files(dir, 6, 0,
                                           "diffusion:\n  noise_schedule: cosine\n"
                                           "train:\n  method: adm-ip\n  gamma: 0.1\n  batch_size: 4\n  lr: 0.001\n"
                                           "  iterations: 4\n  log_interval: 2\n  save_interval: 2\n  seed: 3\n"
                                           "data:\n  path: data.npz\n"));
}

using test::read_events;

}  // namespace

TEST(TrainCli, TrainsResumesAndRefusesAForeignRunDir) {
  test::TempDir dir;
  write_run_files(dir);
  const std::string run = dir.file("run");
  const std::string base = "train --config " + dir.file("train.yaml") + " --run-dir " + run + " --threads 2";
  std::string out;
  ASSERT_EQ(repro_cli(base, &out), 0) << out;
  EXPECT_TRUE(fs::exists(run + "/config.resolved.json"));
  EXPECT_TRUE(fs::exists(run + "/checkpoints/model000004.pt"));
  EXPECT_TRUE(fs::exists(run + "/checkpoints/ema_0.9999_000004.pt.sha256"));
  auto events = read_events(run + "/events.jsonl");
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.front()["type"], "start");
  EXPECT_EQ(events.back()["type"], "end");
  EXPECT_EQ(events.back()["status"], "completed");
  int logs = 0;
  for (const auto& e : events)
    if (e["type"] == "log") {
      ++logs;
      for (const char* key :
           {"step", "samples", "loss", "mse", "vb", "grad_norm", "param_norm", "lr", "images_per_sec"})
        EXPECT_TRUE(e.contains(key)) << key;
    }
  EXPECT_EQ(logs, 2);

  // Again without --resume: refused, nothing changes.
  EXPECT_EQ(repro_cli(base, &out), 2);
  EXPECT_NE(out.find("--resume"), std::string::npos) << out;
  // A different config in the same run dir: refused, naming what differs.
  EXPECT_EQ(repro_cli(base + " --resume --set train.gamma=0.2", &out), 2);
  EXPECT_NE(out.find("different config"), std::string::npos) << out;
  EXPECT_NE(out.find("train.gamma"), std::string::npos) << out;
  // More iterations with --resume continue from step 4.
  ASSERT_EQ(repro_cli(base + " --resume --iterations 6", &out), 0) << out;
  EXPECT_NE(out.find("resumed from step 4"), std::string::npos) << out;
  EXPECT_TRUE(fs::exists(run + "/checkpoints/model000006.pt"));

  // The EMA checkpoint is a reference state dict: the Python replica loads it strictly.
  std::string script =
      "import sys, torch\nsys.path.insert(0, '" + test::source_dir() +
      "/tests/python')\n"
      "import make_fixtures as M\n"
      "cfg = M._resolve('{\"image_size\": 8, \"num_channels\": 32, \"channel_mult\": [1, 1], \"num_res_blocks\": 1, "
      "\"attention_resolutions\": [4], \"num_head_channels\": 32, \"learn_sigma\": true, \"resblock_updown\": true, "
      "\"use_new_attention_order\": true}', M.UNET_DEFAULTS, 'config')\n"
      "model = M.build_model(cfg)\n"
      "model.load_state_dict(torch.load('run/checkpoints/ema_0.9999_000006.pt'), strict=True)\n";
  EXPECT_EQ(test::run_python(script, dir.path()), 0);
}

TEST(TrainCli, BadConfigFailsBeforeAnyStep) {
  test::TempDir dir;
  write_run_files(dir);
  std::string out;
  const std::string base = "train --config " + dir.file("train.yaml") + " --run-dir " + dir.file("run");
  EXPECT_EQ(repro_cli(base + " --set train.method=adm-xx", &out), 2);
  EXPECT_NE(out.find("train.method"), std::string::npos) << out;
  EXPECT_NE(out.find("adm-ip"), std::string::npos) << out;  // the valid choices
  EXPECT_EQ(repro_cli(base + " --set train.gamma=-1", &out), 2);
  EXPECT_NE(out.find("train.gamma"), std::string::npos) << out;
  EXPECT_EQ(repro_cli(base + " --set train.microbatch=3", &out), 2);
  EXPECT_NE(out.find("not divisible"), std::string::npos) << out;
  EXPECT_EQ(repro_cli(base + " --set train.world_size=-2", &out), 2);
  EXPECT_NE(out.find("train.world_size"), std::string::npos) << out;
  EXPECT_NE(out.find("got -2"), std::string::npos) << out;
  EXPECT_EQ(repro_cli(base + " --set data.path=missing.npz", &out), 3);
  EXPECT_NE(out.find("missing.npz"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(dir.file("run") + "/checkpoints"));
  EXPECT_FALSE(fs::exists(dir.file("run") + "/config.resolved.json"));  // the run dir is not claimed
}

TEST(TrainCli, SigtermWritesACheckpointAndExitsSix) {
  test::TempDir dir;
  write_run_files(dir);
  std::string out;
  const std::string cmd =
      "'" + test::repro_binary() + "' train --config " + dir.file("train.yaml") + " --run-dir " + dir.file("run") +
      " --iterations 100000 --set train.save_interval=100000 --set train.log_interval=1 --threads 1 2>&1 & pid=$!; "
      "for i in $(seq 1 300); do grep -q '\"type\":\"log\"' '" +
      dir.file("run") +
      "/events.jsonl' 2>/dev/null && break; "
      "sleep 0.1; done; kill -TERM $pid; wait $pid; echo exit=$?";
  test::run_command(cmd, &out);
  EXPECT_NE(out.find("exit=6"), std::string::npos) << out;
  EXPECT_NE(out.find("status: interrupted"), std::string::npos) << out;
  auto events = read_events(dir.file("run") + "/events.jsonl");
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(events.back()["status"], "interrupted");
  EXPECT_EQ(events[events.size() - 2]["type"], "checkpoint");
}
