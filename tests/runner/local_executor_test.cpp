#include "runner/executor/local_executor.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "base/util/errors.h"
#include "tests/support/test_support.h"

namespace repro::runner {
namespace {

LaunchRequest sh(const std::string& key, const std::string& script, const std::string& log, SlotRequest slot = {}) {
  LaunchRequest r;
  r.key = key;
  r.argv = {"/bin/sh", "-c", script};
  r.log_path = log;
  r.slot = slot;
  return r;
}

// Polls until `n` tasks have finished; generous limit, fails the test past it.
std::vector<Finished> wait_for(LocalExecutor& ex, size_t n, double limit_s = 60) {
  std::vector<Finished> out;
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(limit_s);
  while (out.size() < n && std::chrono::steady_clock::now() < until) {
    for (auto& f : ex.poll()) out.push_back(f);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(out.size(), n) << "tasks did not finish within " << limit_s << " s";
  return out;
}

TEST(GpuList, ParsesAndRejects) {
  EXPECT_EQ(parse_gpu_list("0,1, 2 ,3"), (std::vector<std::string>{"0", "1", "2", "3"}));
  EXPECT_TRUE(parse_gpu_list("").empty());
  EXPECT_THROW(parse_gpu_list("0,,1"), ConfigError);
  EXPECT_THROW(parse_gpu_list("0,0"), ConfigError);
}

TEST(LocalExecutor, ExitCodeAndLogOfBothStreams) {
  test::TempDir dir;
  LocalExecutor ex({2, {}, 5});
  const Launched l = ex.launch(sh("a", "echo out-line; echo err-line >&2; pwd; exit 3", dir.file("a.log")));
  EXPECT_GT(std::stoi(l.job_id), 0);
  EXPECT_EQ(l.gpus, "");
  const auto f = wait_for(ex, 1);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].key, "a");
  ASSERT_TRUE(f[0].exit_code.has_value());
  EXPECT_EQ(*f[0].exit_code, 3);
  EXPECT_FALSE(f[0].signal);
  EXPECT_FALSE(f[0].timed_out);
  const std::string log = test::read_text(dir.file("a.log"));
  EXPECT_NE(log.find("out-line"), std::string::npos) << log;
  EXPECT_NE(log.find("err-line"), std::string::npos) << log;
  EXPECT_EQ(ex.running(), 0);
}

TEST(LocalExecutor, WorkingDirAndEnvironment) {
  test::TempDir dir;
  LocalExecutor ex({1, {}, 5});
  auto r = sh("a", "pwd; echo \"v=$MY_VAR\"", dir.file("a.log"));
  r.working_dir = dir.path().string();
  r.env["MY_VAR"] = "hello world";
  ex.launch(r);
  wait_for(ex, 1);
  const std::string log = test::read_text(dir.file("a.log"));
  EXPECT_NE(log.find(dir.path().string()), std::string::npos) << log;
  EXPECT_NE(log.find("v=hello world"), std::string::npos) << log;
}

TEST(LocalExecutor, ReportsTheKillingSignal) {
  test::TempDir dir;
  LocalExecutor ex({1, {}, 5});
  ex.launch(sh("a", "kill -9 $$", dir.file("a.log")));
  const auto f = wait_for(ex, 1);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_FALSE(f[0].exit_code);
  EXPECT_EQ(f[0].signal, SIGKILL);
  EXPECT_EQ(f[0].status(), 128 + SIGKILL);
}

TEST(LocalExecutor, MissingProgramFailsToStartOrExitsNonZero) {
  test::TempDir dir;
  LocalExecutor ex({1, {}, 5});
  LaunchRequest r;
  r.key = "a";
  r.argv = {dir.file("no-such-program")};
  r.log_path = dir.file("a.log");
  try {
    ex.launch(r);
    const auto f = wait_for(ex, 1);
    ASSERT_EQ(f.size(), 1u);
    EXPECT_NE(f[0].status(), 0);
  } catch (const IoError&) {
    EXPECT_EQ(ex.running(), 0);
    EXPECT_TRUE(ex.can_launch({}));
  }
}

TEST(LocalExecutor, TimeoutSendsTermThenKill) {
  test::TempDir dir;
  LocalExecutor ex({1, {}, 0.3});
  auto r = sh("a", "trap 'echo got-term' TERM; while true; do sleep 0.05; done", dir.file("a.log"));
  r.timeout_s = 0.3;
  ex.launch(r);
  const auto f = wait_for(ex, 1);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_TRUE(f[0].timed_out);
  EXPECT_EQ(f[0].signal, SIGKILL);  // it ignored SIGTERM
  EXPECT_GE(f[0].seconds, 0.5);
  EXPECT_NE(test::read_text(dir.file("a.log")).find("got-term"), std::string::npos);
}

TEST(LocalExecutor, CancelIsGracefulUnlessForced) {
  test::TempDir dir;
  LocalExecutor ex({2, {}, 5});
  ex.launch(sh("soft", "trap 'echo stopping; exit 6' TERM; sleep 30 & wait $!", dir.file("s.log")));
  ex.launch(sh("hard", "trap 'echo stopping' TERM; sleep 30 & wait $!; sleep 30", dir.file("h.log")));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // let the shells set their traps
  ex.cancel("soft", false);
  ex.cancel("hard", true);
  auto f = wait_for(ex, 2);
  ASSERT_EQ(f.size(), 2u);
  std::sort(f.begin(), f.end(), [](const Finished& a, const Finished& b) { return a.key < b.key; });
  EXPECT_TRUE(f[0].cancelled);
  EXPECT_EQ(f[0].signal, SIGKILL);
  EXPECT_TRUE(f[1].cancelled);
  EXPECT_EQ(f[1].exit_code, 6);
}

TEST(LocalExecutor, CpuSlotsLimitParallelTasks) {
  test::TempDir dir;
  LocalExecutor ex({2, {}, 5});
  EXPECT_FALSE(ex.fits({1}));  // no GPUs here
  ex.launch(sh("a", "sleep 30", dir.file("a.log")));
  EXPECT_TRUE(ex.can_launch({}));
  ex.launch(sh("b", "sleep 30", dir.file("b.log")));
  EXPECT_FALSE(ex.can_launch({}));
  EXPECT_EQ(ex.running(), 2);
  ex.stop_all(true);
  wait_for(ex, 2);
  EXPECT_TRUE(ex.can_launch({}));
}

TEST(LocalExecutor, ACpuTaskOfNProcessesTakesNSlots) {
  test::TempDir dir;
  LocalExecutor ex({3, {}, 5});
  const SlotRequest two{0, 2};
  EXPECT_TRUE(ex.fits(two));
  EXPECT_FALSE(ex.fits(SlotRequest{0, 4}));  // more processes than --max-parallel: never
  ex.launch(sh("ranks", "sleep 30", dir.file("ranks.log"), two));
  EXPECT_TRUE(ex.can_launch({}));  // 2 of 3 slots taken
  EXPECT_FALSE(ex.can_launch(two));
  ex.launch(sh("one", "sleep 30", dir.file("one.log")));
  EXPECT_FALSE(ex.can_launch({}));
  ex.cancel("ranks", true);
  wait_for(ex, 1);
  EXPECT_TRUE(ex.can_launch(two));
  EXPECT_FALSE(ex.can_launch(SlotRequest{0, 3}));
  ex.stop_all(true);
  wait_for(ex, 1);
}

TEST(LocalExecutor, GpuIdsHandedOutThroughCudaVisibleDevices) {
  test::TempDir dir;
  LocalExecutor ex({0, {"0", "1"}, 5});
  EXPECT_TRUE(ex.fits({2}));
  EXPECT_FALSE(ex.fits({3}));
  const std::string show = "echo \"cvd=[${CUDA_VISIBLE_DEVICES-unset}]\"; sleep 30";
  const Launched a = ex.launch(sh("a", show, dir.file("a.log"), {1}));
  const Launched b = ex.launch(sh("b", show, dir.file("b.log"), {1}));
  EXPECT_EQ(a.gpus, "0");
  EXPECT_EQ(b.gpus, "1");
  EXPECT_FALSE(ex.can_launch({1}));
  EXPECT_TRUE(ex.can_launch({0}));  // CPU tasks are not limited by GPUs (max_parallel 0)
  const Launched c = ex.launch(sh("c", show, dir.file("c.log"), {0}));
  EXPECT_EQ(c.gpus, "");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ex.cancel("a", true);
  wait_for(ex, 1);
  EXPECT_EQ(ex.free_gpus(), std::vector<std::string>{"0"});
  EXPECT_FALSE(ex.can_launch({2}));
  ex.stop_all(true);
  wait_for(ex, 2);
  EXPECT_TRUE(ex.can_launch({2}));
  const Launched d = ex.launch(sh("d", "echo \"cvd=[$CUDA_VISIBLE_DEVICES]\"", dir.file("d.log"), {2}));
  EXPECT_EQ(d.gpus, "0,1");
  wait_for(ex, 1);
  EXPECT_NE(test::read_text(dir.file("a.log")).find("cvd=[0]"), std::string::npos)
      << test::read_text(dir.file("a.log"));
  EXPECT_NE(test::read_text(dir.file("b.log")).find("cvd=[1]"), std::string::npos);
  EXPECT_NE(test::read_text(dir.file("c.log")).find("cvd=[]"), std::string::npos) << test::read_text(dir.file("c.log"));
  EXPECT_NE(test::read_text(dir.file("d.log")).find("cvd=[0,1]"), std::string::npos);
}

TEST(LocalExecutor, DestructorKillsTheProcessGroup) {
  test::TempDir dir;
  {
    LocalExecutor ex({1, {}, 5});
    ex.launch(sh("a", "sleep 30 & echo $! > " + dir.file("pid") + "; wait", dir.file("a.log")));
    test::wait_until([&] { return !test::read_text(dir.file("pid")).empty(); }, 12);
  }
  const std::string pid = test::read_text(dir.file("pid"));
  ASSERT_FALSE(pid.empty());
  // The task's own child (its process group) is gone or a zombie awaiting init.
  const bool gone = test::wait_until(
      [&] {
        std::ifstream stat("/proc/" + std::to_string(std::stoi(pid)) + "/stat");
        std::string line;
        return !std::getline(stat, line) || line[line.rfind(')') + 2] == 'Z';
      },
      10);
  EXPECT_TRUE(gone) << "the task's child " << pid << " survived the executor";
}

}  // namespace
}  // namespace repro::runner
