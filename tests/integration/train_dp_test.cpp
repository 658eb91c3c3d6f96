// Data-parallel `repro train`: N ranks with per-rank batch B compute what one process computes
// with batch N*B, over both rendezvous paths (the --nproc file store
// and torchrun-style MASTER_ADDR/MASTER_PORT), and resume, refuse and stop like one process.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "tests/support/test_support.h"
#include "tests/support/tiny_unet.h"

using namespace repro;
namespace fs = std::filesystem;

namespace {

using test::repro_cli;

// adm-ip with the loss-second-moment sampler and microbatching, on 16 random 8x8 images.
void write_run_files(const test::TempDir& dir) {
  ASSERT_TRUE(test::write_tiny_train_files(dir, 16, 1,
                                           "diffusion:\n  diffusion_steps: 20\n"
                                           "train:\n  method: adm-ip\n  gamma: 0.1\n  batch_size: 4\n  microbatch: 2\n"
                                           "  lr: 0.001\n  iterations: 4\n  log_interval: 1\n  save_interval: 2\n"
                                           "  seed: 7\n  ema_rate: [0.9]\n"
                                           "data:\n  path: data.npz\n"));
}

// Largest |a - b| over every tensor of two checkpoints, by the reference's torch.load.
double max_checkpoint_diff(const std::string& a, const std::string& b, const fs::path& cwd) {
  const std::string script = "import torch\na = torch.load('" + a + "')\nb = torch.load('" + b +
                             "')\nassert a.keys() == b.keys()\n"
                             "d = max(float((a[k] - b[k]).abs().max()) for k in a)\n"
                             "open('diff.txt', 'w').write(repr(d))\n";
  if (test::run_python(script, cwd) != 0) return 1e9;
  std::ifstream in(cwd / "diff.txt");
  double d = 1e9;
  in >> d;
  return d;
}

std::vector<double> logged_losses(const std::string& run) {
  std::vector<double> out;
  for (const auto& e : test::read_events(run + "/events.jsonl"))
    if (e["type"] == "log") out.push_back(e["loss"].get<double>());
  return out;
}

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

class TrainDataParallel : public ::testing::Test {
 protected:
  void SetUp() override { write_run_files(dir_); }
  std::string train(const std::string& run, const std::string& extra) const {
    return "train --config " + dir_.file("train.yaml") + " --run-dir " + dir_.file(run) + " " + extra;
  }
  test::TempDir dir_;
};

}  // namespace

TEST_F(TrainDataParallel, TwoRanksEqualOneProcessWithTheGlobalBatch) {
  std::string out;
  // Adam turns a gradient that is float noise around 0 (a bias that a following GroupNorm
  // cancels) into a full lr-sized step, so float32 summation order alone moves such a parameter
  // by ~lr. An eps above that noise keeps the comparison about the data-parallel arithmetic.
  const std::string eps = " --set train.adam_eps=1e-4";
  ASSERT_EQ(repro_cli(train("one", "--threads 1" + eps), &out), 0) << out;
  ASSERT_EQ(repro_cli(train("two", "--nproc 2 --set train.batch_size=2 --set train.microbatch=1" + eps), &out), 0)
      << out;
  EXPECT_NE(out.find("rank 0 of 2"), std::string::npos) << out;
  for (const char* file : {"model000004.pt", "ema_0.9_000004.pt", "model000002.pt"}) {
    const double d =
        max_checkpoint_diff(dir_.file("one/checkpoints/") + file, dir_.file("two/checkpoints/") + file, dir_.path());
    EXPECT_LT(d, 1e-6) << file;  // float32 sums in another order, nothing more (measured 6e-8)
  }
  // The logs average every rank's samples: the same losses as the single process.
  auto a = logged_losses(dir_.file("one")), b = logged_losses(dir_.file("two"));
  ASSERT_EQ(a.size(), 4u);
  ASSERT_EQ(b.size(), 4u);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-5) << i;
  // Rank 0 alone writes: one start record, saying how many ranks.
  int starts = 0;
  for (const auto& e : test::read_events(dir_.file("two/events.jsonl")))
    if (e["type"] == "start") {
      ++starts;
      EXPECT_EQ(e["world_size"], 2);
      EXPECT_EQ(e["global_batch_size"], 4);
    }
  EXPECT_EQ(starts, 1);
  EXPECT_FALSE(fs::exists(dir_.file("two/checkpoints/model000004.pt.tmp")));
}

TEST_F(TrainDataParallel, ResumesExactlyAndRefusesAnotherProcessCount) {
  const std::string dp = "--nproc 2 --set train.batch_size=2 --set train.microbatch=1";
  std::string out;
  ASSERT_EQ(repro_cli(train("straight", dp), &out), 0) << out;
  ASSERT_EQ(repro_cli(train("split", dp + " --iterations 2"), &out), 0) << out;
  ASSERT_EQ(repro_cli(train("split", dp + " --iterations 4 --resume"), &out), 0) << out;
  EXPECT_NE(out.find("resumed from step 2"), std::string::npos) << out;
  for (const char* file : {"model000004.pt", "ema_0.9_000004.pt"})
    EXPECT_EQ(max_checkpoint_diff(dir_.file("straight/checkpoints/") + file, dir_.file("split/checkpoints/") + file,
                                  dir_.path()),
              0.0)
        << file;
  // One process cannot continue a two-process run: the global batch would change.
  EXPECT_EQ(
      repro_cli(train("split", "--set train.batch_size=2 --set train.microbatch=1 --iterations 6 --resume"), &out), 2);
  EXPECT_NE(out.find("train.world_size"), std::string::npos) << out;
}

TEST_F(TrainDataParallel, TorchrunStyleEnvironmentWithATcpStore) {
  std::string out;
  ASSERT_EQ(repro_cli(train("nproc", "--nproc 2 --set train.batch_size=2 --set train.microbatch=1"), &out), 0) << out;
  const std::string port = std::to_string(free_port());
  const std::string cmd =
      "'" + test::repro_binary() + "' " + train("tcp", "--threads 1 --set train.batch_size=2 --set train.microbatch=1");
  const std::string both = "export MASTER_ADDR=127.0.0.1 MASTER_PORT=" + port +
                           " WORLD_SIZE=2 REPRO_DIST_TIMEOUT=60; RANK=1 " + cmd + " > rank1.log 2>&1 & RANK=0 " + cmd +
                           "; r0=$?; wait $!; r1=$?; cat rank1.log; test $r0 -eq 0 -a $r1 -eq 0";
  ASSERT_EQ(test::run_command("(cd '" + dir_.path().string() + "' && " + both + ") 2>&1", &out), 0) << out;
  EXPECT_NE(out.find("tcp store 127.0.0.1:" + port), std::string::npos) << out;
  EXPECT_EQ(max_checkpoint_diff(dir_.file("nproc/checkpoints/model000004.pt"),
                                dir_.file("tcp/checkpoints/model000004.pt"), dir_.path()),
            0.0);
}

TEST_F(TrainDataParallel, SigtermToTheLauncherStopsEveryRankAtOneCheckpoint) {
  std::string out;
  const std::string run = dir_.file("long");
  const std::string cmd =
      "'" + test::repro_binary() + "' " +
      train("long", "--nproc 2 --iterations 100000 --set train.batch_size=2 --set train.microbatch=1");
  const std::string script = cmd + " & pid=$!; while ! grep -q '\"log\"' '" + run +
                             "/events.jsonl' 2>/dev/null; do sleep 0.1; done; kill -TERM $pid; wait $pid; echo exit=$?";
  ASSERT_EQ(test::run_command(script, &out), 0) << out;
  EXPECT_NE(out.find("exit=6"), std::string::npos) << out;
  auto events = test::read_events(run + "/events.jsonl");
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back()["type"], "end");
  EXPECT_EQ(events.back()["status"], "interrupted");
  const int64_t step = events.back()["step"].get<int64_t>();
  char name[32];
  std::snprintf(name, sizeof(name), "state%06lld.json", static_cast<long long>(step));
  EXPECT_TRUE(fs::exists(run + "/checkpoints/" + name)) << name;
}

TEST_F(TrainDataParallel, NprocInsideADistributedLaunchIsRefused) {
  std::string out;
  EXPECT_EQ(
      test::run_command(
          "RANK=0 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 '" + test::repro_binary() + "' " + train("x", "--nproc 2"), &out),
      2);
  EXPECT_NE(out.find("--nproc"), std::string::npos) << out;
}

TEST_F(TrainDataParallel, WorldSizeInTheConfigStartsItsRanksAndMustAgreeWithTheLaunch) {
  const std::string per_rank = "--set train.batch_size=2 --set train.microbatch=1";
  const std::string in_config = per_rank + " --set train.world_size=2";
  std::string out;
  // train.world_size 2 without --nproc: the same two ranks as --nproc 2, the same weights.
  ASSERT_EQ(repro_cli(train("config", in_config), &out), 0) << out;
  EXPECT_NE(out.find("launching 2 ranks"), std::string::npos) << out;
  ASSERT_EQ(repro_cli(train("nproc", "--nproc 2 " + per_rank), &out), 0) << out;
  EXPECT_EQ(max_checkpoint_diff(dir_.file("config/checkpoints/model000004.pt"),
                                dir_.file("nproc/checkpoints/model000004.pt"), dir_.path()),
            0.0);
  std::ifstream resolved(dir_.file("config/config.resolved.json"));
  EXPECT_EQ(nlohmann::json::parse(resolved)["train"]["world_size"], 2);
  // A launch of another size is refused before anything trains, naming both.
  EXPECT_EQ(repro_cli(train("x", "--nproc 3 " + in_config), &out), 2);
  EXPECT_NE(out.find("contradict train.world_size 2"), std::string::npos) << out;
  EXPECT_EQ(
      test::run_command(
          "RANK=0 WORLD_SIZE=3 MASTER_ADDR=127.0.0.1 '" + test::repro_binary() + "' " + train("y", in_config), &out),
      2);
  EXPECT_NE(out.find("key 'train.world_size': the run trains with 2 processes, this process is rank 0 of 3"),
            std::string::npos)
      << out;
  EXPECT_FALSE(fs::exists(dir_.file("x")));
  EXPECT_FALSE(fs::exists(dir_.file("y")));
}
