// SlurmExecutor against a real one-node Slurm cluster (tests/runner/slurm/slurm_cluster.h): jobs
// that succeed, fail, run past a limit, get cancelled, are capped, requeued and adopted by a new
// executor, and names that would break a careless shell script.
#include "runner/executor/slurm_executor.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "base/util/errors.h"
#include "tests/runner/slurm/slurm_cluster.h"
#include "tests/runner/slurm/slurm_task_util.h"
#include "tests/support/test_support.h"

namespace repro::runner {
namespace {

namespace fs = std::filesystem;
using test::SlurmTest;

using test_slurm::shell_task;
using test_slurm::wait_all;
using test_slurm::wait_started;

SlurmExecutorOptions test_options() {
  SlurmExecutorOptions o = test_slurm::quick_options();
  o.max_gpus_per_task = 2;  // the test node's fake gres gpu:2
  return o;
}

// Polls until the task ends; fails the test past the limit.
Finished wait_finished(SlurmExecutor& ex, const std::string& key, double limit_s = 40) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(limit_s);
  while (std::chrono::steady_clock::now() < until) {
    for (const auto& f : ex.poll())
      if (f.key == key) return f;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ADD_FAILURE() << key << " did not finish within " << limit_s << " s";
  return {};
}

TEST(SlurmScript, QuotesEverything) {
  EXPECT_EQ(shell_quote("it's"), "'it'\\''s'");
  EXPECT_EQ(shell_quote(""), "''");
  LaunchRequest r;
  r.key = "k";
  r.argv = {"/bin/true"};
  r.log_path = "/tmp/x.log";
  r.env["BAD-NAME"] = "1";
  EXPECT_NE(test::error_message([&] { slurm_batch_script(r, "/tmp/x.status", 1); }).find("BAD-NAME"),
            std::string::npos);
  EXPECT_EQ(slurm_status_path("/a/b/t.3.log"), "/a/b/t.3.status");
  EXPECT_EQ(slurm_script_path("/a/b/t.3.log"), "/a/b/t.3.sbatch");
}

TEST(SlurmScript, ProcessesRunUnderSrunWithTheirGpus) {
  LaunchRequest r;
  r.key = "k";
  r.argv = {"/bin/true"};
  r.log_path = "/tmp/x.log";
  auto script = [&](SlotRequest slot) {
    r.slot = slot;
    return slurm_batch_script(r, "/tmp/x.status", 1);
  };
  EXPECT_EQ(script({0, 0}).find("srun"), std::string::npos);
  EXPECT_EQ(script({1, 1}).find("srun"), std::string::npos);
  EXPECT_NE(script({2, 0}).find("srun --ntasks=2 "), std::string::npos);  // one per GPU
  const std::string cpu = script({0, 3});
  EXPECT_NE(cpu.find("srun --ntasks=3 "), std::string::npos) << cpu;
  EXPECT_NE(cpu.find("export CUDA_VISIBLE_DEVICES=''"), std::string::npos) << cpu;
  EXPECT_EQ(SlotRequest({0, 0}).ranks(), 1);
  EXPECT_EQ(SlotRequest({4, 0}).ranks(), 4);
  EXPECT_EQ(SlotRequest({0, 4}).ranks(), 4);
}

TEST(SlurmScript, MissingSbatchIsAConfigError) {
  SlurmExecutorOptions o;
  o.sbatch = "repro-no-such-sbatch";
  try {
    SlurmExecutor ex(o);
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("repro-no-such-sbatch"), std::string::npos) << e.what();
  }
}

TEST_F(SlurmTest, SubmitsAndSucceeds) {
  test::TempDir dir;
  SlurmExecutor ex(test_options());
  auto r = shell_task(dir.path().string(), "ok",
                      "echo hello; echo \"var=$MYVAR\"; pwd; echo \"cvd=[$CUDA_VISIBLE_DEVICES]\"");
  r.env["MYVAR"] = "value";
  ASSERT_TRUE(ex.can_launch(r.slot));
  const Launched l = ex.launch(r);
  EXPECT_FALSE(l.job_id.empty());
  EXPECT_EQ(ex.running(), 1);
  const Finished f = wait_finished(ex, "ok");
  EXPECT_EQ(f.exit_code, 0);
  EXPECT_FALSE(f.signal);
  EXPECT_FALSE(f.timed_out || f.cancelled);
  EXPECT_EQ(ex.running(), 0);
  const std::string log = test::read_text(r.log_path);
  EXPECT_NE(log.find("hello\nvar=value\n" + dir.path().string() + "\ncvd=[]\n"), std::string::npos) << log;
  const auto st = read_slurm_job_status(slurm_status_path(r.log_path));
  ASSERT_TRUE(st);
  EXPECT_EQ(st->job_id, l.job_id);
  EXPECT_EQ(st->exit, 0);
  ASSERT_TRUE(st->start && st->end && st->heartbeat);
  EXPECT_LE(*st->start, *st->end);
  EXPECT_FALSE(st->host.empty());
  EXPECT_TRUE(fs::exists(slurm_script_path(r.log_path)));
}

TEST_F(SlurmTest, FailureExitCodeAndSignal) {
  test::TempDir dir;
  SlurmExecutor ex(test_options());
  ex.launch(shell_task(dir.path().string(), "three", "echo failing; exit 3"));
  ex.launch(shell_task(dir.path().string(), "killed", "kill -9 $$"));
  auto got = wait_all(ex, {"three", "killed"}, 40);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got["three"].exit_code, 3);
  EXPECT_EQ(got["three"].status(), 3);
  EXPECT_FALSE(got["three"].timed_out);
  EXPECT_EQ(got["killed"].signal, 9);
  EXPECT_FALSE(got["killed"].exit_code);
}

TEST_F(SlurmTest, TimeoutStopsTheJobGracefully) {
  test::TempDir dir;
  SlurmExecutor ex(test_options());
  auto r = shell_task(dir.path().string(), "slow", "trap 'echo got TERM; exit 6' TERM; sleep 60 & wait $!");
  r.timeout_s = 2;  // from the first poll that sees it running; the task's trap is set by then
  ex.launch(r);
  const Finished f = wait_finished(ex, "slow");
  EXPECT_TRUE(f.timed_out);
  EXPECT_EQ(f.exit_code, 6) << "status file:\n"
                            << test::read_text(slurm_status_path(r.log_path)) << "log:\n"
                            << test::read_text(r.log_path);  // the task handled SIGTERM (a trainer checkpoints here)
  EXPECT_LT(f.seconds, 20);
  EXPECT_NE(test::read_text(r.log_path).find("got TERM"), std::string::npos);
}

// Slurm's own time limit (--time): whole minutes, enforced about 10 s late, so this test takes
// about 70 s.
TEST_F(SlurmTest, SlurmTimeLimitIsATimeout) {
  test::TempDir dir;
  auto o = test_options();
  o.time_limit = "1";
  SlurmExecutor ex(o);
  ex.launch(shell_task(dir.path().string(), "limit", "sleep 300"));
  const Finished f = wait_finished(ex, "limit", 110);
  EXPECT_TRUE(f.timed_out);
  EXPECT_FALSE(f.cancelled);
  EXPECT_NE(f.status(), 0);
}

TEST_F(SlurmTest, CancelGracefulAndForced) {
  test::TempDir dir;
  SlurmExecutor ex(test_options());
  auto soft = shell_task(dir.path().string(), "soft", "trap 'echo stopping; exit 6' TERM; sleep 60 & wait $!");
  auto hard = shell_task(dir.path().string(), "hard", "trap '' TERM; sleep 60");
  ex.launch(soft);
  ex.launch(hard);
  ASSERT_TRUE(wait_started(soft.log_path) && wait_started(hard.log_path));
  ex.poll();  // sees them RUNNING
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ex.poll();
  ex.cancel("soft", false);
  ex.cancel("hard", true);
  ex.cancel("no-such-task", true);  // ignored
  auto got = wait_all(ex, {"soft", "hard"}, 40);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_TRUE(got["soft"].cancelled);
  EXPECT_EQ(got["soft"].exit_code, 6);
  EXPECT_NE(test::read_text(soft.log_path).find("stopping"), std::string::npos);
  EXPECT_TRUE(got["hard"].cancelled);
  EXPECT_NE(got["hard"].status(), 0);
}

TEST_F(SlurmTest, StopAllSignalsEveryJobInOneScancel) {
  test::TempDir dir;
  const std::string d = dir.path().string();
  // scancel behind a wrapper that records each call.
  std::string scancel;
  ASSERT_EQ(test::run_command("command -v scancel", &scancel), 0);
  scancel.erase(scancel.find_last_not_of("\n") + 1);
  std::ofstream(d + "/scancel") << "#!/bin/sh\necho \"$*\" >> '" << d << "/calls'\nexec '" << scancel << "' \"$@\"\n";
  fs::permissions(d + "/scancel", fs::perms::owner_all);
  auto o = test_options();
  o.scancel = d + "/scancel";
  SlurmExecutor ex(o);
  std::vector<LaunchRequest> tasks;
  for (const char* key : {"s1", "s2", "s3"}) {
    tasks.push_back(shell_task(d, key, "trap 'exit 6' TERM; sleep 60 & wait $!"));
    ex.launch(tasks.back());
  }
  for (const auto& t : tasks) ASSERT_TRUE(wait_started(t.log_path));
  ex.poll();  // sees them RUNNING
  ex.stop_all(false);
  auto got = wait_all(ex, {"s1", "s2", "s3"}, 40);
  ASSERT_EQ(got.size(), 3u);
  for (const auto& [key, f] : got) {
    EXPECT_TRUE(f.cancelled) << key;
    EXPECT_EQ(f.exit_code, 6) << key;  // stopped gracefully
  }
  const std::string calls = test::read_text(d + "/calls");
  EXPECT_EQ(std::count(calls.begin(), calls.end(), '\n'), 1) << calls;
  EXPECT_EQ(calls.rfind("--full --signal=TERM ", 0), 0u) << calls;
}

TEST_F(SlurmTest, CancelOfAPendingJobRemovesIt) {
  test::TempDir dir;
  auto o = test_options();
  o.sbatch_args = {"--begin=now+600"};  // held in the queue
  SlurmExecutor ex(o);
  ex.launch(shell_task(dir.path().string(), "later", "echo should not run"));
  ex.cancel("later", false);
  const Finished f = wait_finished(ex, "later");
  EXPECT_TRUE(f.cancelled);
  EXPECT_EQ(test::read_text(dir.path().string() + "/later.1.log"), "");
}

TEST_F(SlurmTest, MaxInFlightCapsSubmissions) {
  test::TempDir dir;
  auto o = test_options();
  o.max_in_flight = 2;
  SlurmExecutor ex(o);
  const std::string d = dir.path().string();
  ex.launch(shell_task(d, "a", "sleep 1"));
  ex.launch(shell_task(d, "b", "sleep 1"));
  EXPECT_FALSE(ex.can_launch(SlotRequest{0}));
  EXPECT_TRUE(ex.fits(SlotRequest{2}));
  EXPECT_FALSE(ex.fits(SlotRequest{3}));
  std::vector<Finished> ended;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(40);
  while (ended.empty() && std::chrono::steady_clock::now() < until) {
    ended = ex.poll();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_FALSE(ended.empty());
  EXPECT_EQ(ex.running(), 2 - static_cast<int>(ended.size()));
  EXPECT_TRUE(ex.can_launch(SlotRequest{0}));
  ex.launch(shell_task(d, "c", "true"));
  EXPECT_LE(ex.running(), 2);
}

TEST_F(SlurmTest, MultiGpuTaskRunsOneProcessPerGpuUnderSrun) {
  test::TempDir dir;
  SlurmExecutor ex(test_options());
  auto r = shell_task(dir.path().string(), "ddp", "echo \"rank $SLURM_PROCID of $SLURM_STEP_NUM_TASKS\"");
  r.slot.gpus = 2;
  ex.launch(r);
  const Finished f = wait_finished(ex, "ddp");
  EXPECT_EQ(f.exit_code, 0);
  const std::string log = test::read_text(r.log_path);
  EXPECT_NE(log.find("rank 0 of 2"), std::string::npos) << log;
  EXPECT_NE(log.find("rank 1 of 2"), std::string::npos) << log;
}

TEST_F(SlurmTest, CpuTaskOfTwoProcessesRunsBothUnderSrunWithoutGpus) {
  test::TempDir dir;
  SlurmExecutor ex(test_options());
  auto r = shell_task(dir.path().string(), "cpu-ddp",
                      "echo \"rank $SLURM_PROCID of $SLURM_STEP_NUM_TASKS cvd=[$CUDA_VISIBLE_DEVICES]\"");
  r.slot = SlotRequest{0, 2};
  ex.launch(r);
  const Finished f = wait_finished(ex, "cpu-ddp");
  EXPECT_EQ(f.exit_code, 0);
  const std::string log = test::read_text(r.log_path);
  EXPECT_NE(log.find("rank 0 of 2 cvd=[]"), std::string::npos) << log;
  EXPECT_NE(log.find("rank 1 of 2 cvd=[]"), std::string::npos) << log;
}

TEST_F(SlurmTest, RequeuedJobStaysRunningAndFinishesOnce) {
  test::TempDir dir;
  SlurmExecutor ex(test_options());
  // The first run waits to be requeued (a node failure or preemption); the second succeeds.
  auto r = shell_task(dir.path().string(), "requeued",
                      "echo \"run ${SLURM_RESTART_COUNT:-0}\"; [ \"${SLURM_RESTART_COUNT:-0}\" -ge 1 ] && exit 0; "
                      "trap 'exit 6' TERM; sleep 60 & wait $!");
  const Launched l = ex.launch(r);
  ASSERT_TRUE(wait_started(r.log_path));
  // Requeue once the job has run a moment: on Slurm 22.05 a job requeued within its first second
  // and released at once fails its second start (slurmctld: WEXITSTATUS 1; the script never runs).
  std::this_thread::sleep_for(std::chrono::seconds(1));
  std::string out;
  ASSERT_EQ(test::run_command("scontrol requeue " + l.job_id, &out), 0) << out;
  // Slurm holds a requeued job for 2 minutes (BeginTime); release it once it is pending again.
  for (int i = 0; i < 100; ++i) {
    for (const auto& f : ex.poll()) ADD_FAILURE() << f.key << " reported finished while requeued";
    test::run_command("squeue -h --states=all -o %T -j " + l.job_id, &out);
    if (out.find("PENDING") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  // Let the first run's teardown on the node finish before the second start (a release at once
  // failed that start now and then under load).
  std::this_thread::sleep_for(std::chrono::seconds(2));
  ASSERT_EQ(test::run_command("scontrol update JobId=" + l.job_id + " StartTime=now", &out), 0) << out;
  const Finished f = wait_finished(ex, "requeued", 40);
  EXPECT_EQ(f.exit_code, 0);
  EXPECT_FALSE(f.cancelled);
  const auto st = read_slurm_job_status(slurm_status_path(r.log_path));
  ASSERT_TRUE(st);
  EXPECT_EQ(st->restarts, 1);
  const std::string log = test::read_text(r.log_path);
  EXPECT_NE(log.find("run 0"), std::string::npos) << log;
  EXPECT_NE(log.find("run 1"), std::string::npos) << log;
}

TEST_F(SlurmTest, NewExecutorAdoptsARunningJob) {
  test::TempDir dir;
  auto r = shell_task(dir.path().string(), "long", "sleep 3; echo finished; exit 4");
  std::string job_id;
  {
    SlurmExecutor first(test_options());
    job_id = first.launch(r).job_id;
    ASSERT_TRUE(wait_started(r.log_path));
  }  // the orchestrator is gone; the job runs on
  SlurmExecutor second(test_options());
  EXPECT_FALSE(second.adopt("other-key", job_id, r.log_path));  // the id names another task's job
  EXPECT_FALSE(second.adopt("long", "999999", r.log_path));     // unknown to Slurm, no status end
  EXPECT_FALSE(second.adopt("long", "1;rm -rf /", r.log_path));
  ASSERT_TRUE(second.adopt("long", job_id, r.log_path));
  EXPECT_EQ(second.running(), 1);
  EXPECT_EQ(second.job_ids().at("long"), job_id);
  const Finished f = wait_finished(second, "long");
  EXPECT_EQ(f.exit_code, 4);
  EXPECT_GE(f.seconds, 2.5);
  EXPECT_NE(test::read_text(r.log_path).find("finished"), std::string::npos);
}

TEST_F(SlurmTest, HostileNamesPathsAndValuesAreNotInterpreted) {
  test::TempDir dir;
  const std::string evil = "it's \"q\" $(touch PWNED) `touch PWNED2` ; touch PWNED3 \n second line $HOME %j %x \\";
  const std::string sub = dir.path().string() + "/dir with 'quotes' $(x) and %j";
  fs::create_directories(sub);
  SlurmExecutor ex(test_options());
  LaunchRequest r;
  r.key = "task " + evil;
  r.argv = {"/bin/sh", "-c", "printf '%s' \"$1\" > arg.txt; printf '%s' \"$EVIL\" > env.txt; echo ok", "sh", evil};
  r.env["EVIL"] = evil;
  r.working_dir = sub;
  r.log_path = sub + "/log " + evil.substr(0, 20) + ".log";  // a name with quotes and $(...)
  ex.launch(r);
  const Finished f = wait_finished(ex, r.key);
  EXPECT_EQ(f.exit_code, 0);
  EXPECT_EQ(test::read_text(sub + "/arg.txt"), evil);
  EXPECT_EQ(test::read_text(sub + "/env.txt"), evil);
  EXPECT_NE(test::read_text(r.log_path).find("ok"), std::string::npos);
  for (const char* p : {"PWNED", "PWNED2", "PWNED3"}) {
    EXPECT_FALSE(fs::exists(sub + "/" + p)) << p;
    EXPECT_FALSE(fs::exists(dir.path() / p)) << p;
  }
}

}  // namespace
}  // namespace repro::runner
