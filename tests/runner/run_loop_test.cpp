// The run loop's scheduling on a fake executor and a simulated clock: dependencies, slots, retries
// and backoff, timeouts, early sampling, cancel and stop requests, restart after a killed
// orchestrator. No process is started and nothing sleeps: minutes of simulated time take
// milliseconds. The same behaviour with real processes: orchestrator_test.cpp.
#include "runner/orchestrate/run_loop.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "runner/orchestrate/cancel.h"
#include "store/cancel_requests.h"
#include "store/queries.h"
#include "tests/support/fake_executor.h"
#include "tests/support/fake_plan.h"
#include "tests/support/run_outcomes.h"
#include "tests/support/simulated_clock.h"
#include "tests/support/test_support.h"

namespace repro::runner {
namespace {

using test::exits;
using test::fake_plan;
using test::FakeAttempt;
using test::FakeExecutor;
using test::FakeExecutorOptions;
using test::killed_by;
using test::outcome;
using test::state_of;
using test::task_spec;

// Thrown by a scheduled action to stop the loop as `kill -9` of `repro run` would.
struct Killed : std::runtime_error {
  Killed() : std::runtime_error("killed") {}
};

// A project directory, a store on the simulated clock, and the loop's options (poll every 0.5 s,
// backoff 10 s: the defaults' scale, which costs nothing here).
struct Loop {
  Loop() {
    StoreOptions so;
    so.clock = clock.store_clock();
    store = std::make_unique<Store>(":memory:", so);
    options.project_dir = dir.file("project");
    options.repro_binary = "/fake/repro";
    options.poll_interval_s = 0.5;
    options.ingest_interval_s = 5;
    options.on_progress = [this](const TaskProgress& p) { progress.push_back(p); };
  }
  FakeExecutor executor(int max_parallel = 2, std::vector<std::string> gpus = {}, std::string name = "local") {
    FakeExecutorOptions o;
    o.name = std::move(name);
    o.max_parallel = max_parallel;
    o.gpus = std::move(gpus);
    o.kill_grace_s = 5;
    return FakeExecutor(clock, o);
  }
  OrchestratorSummary run(Executor& ex, const Plan& plan) {
    std::filesystem::create_directories(options.project_dir);
    return RunLoop(*store, ex, options, clock, plan).run();
  }
  // Seconds after the clock's start.
  double at(double t) const { return 1.7e9 + t; }

  test::TempDir dir;
  test::SimulatedClock clock;
  std::unique_ptr<Store> store;
  OrchestratorOptions options;
  std::vector<TaskProgress> progress;
};

// The task's one launch; throws when it had none or several.
FakeExecutor::Launch only_launch(const FakeExecutor& ex, const std::string& key) {
  const auto launches = ex.launches_of(key);
  if (launches.size() != 1) throw std::runtime_error(key + " launched " + std::to_string(launches.size()) + " times");
  return launches[0];
}

TEST(RunLoop, RunsThePlanDependantsAfterTheirDependencies) {
  Loop loop;
  auto ex = loop.executor(4);
  ex.script("r1-train", {exits(0, 30)});
  const auto s = loop.run(ex, fake_plan({"r1", "r2"}, true));
  EXPECT_EQ(s.done, 4);
  EXPECT_TRUE(s.ok());
  EXPECT_FALSE(s.interrupted);
  for (std::string r : {"r1", "r2"})
    EXPECT_GE(only_launch(ex, r + "-sample").start, *only_launch(ex, r + "-train").end) << r;
  EXPECT_EQ(ex.batches().front(), 2u);  // both trains in one launch_batch
  // The request: the task file, its environment, the store-wide attempt number.
  const auto req = only_launch(ex, "r1-train").request;
  const std::string run_dir = run_dir_of(loop.options.project_dir, "r1");
  EXPECT_EQ(req.argv, (std::vector<std::string>{"/fake/repro", "task", task_file_of(run_dir, "r1-train")}));
  EXPECT_EQ(req.env.at("REPRO_TASK_ATTEMPT"), "1");
  EXPECT_EQ(req.log_path, log_file_of(run_dir, "r1-train", 1));
  EXPECT_TRUE(std::filesystem::exists(task_file_of(run_dir, "r1-train")));
  // The store: attempts on the simulated clock, events ingested, runs done.
  const auto att = attempts_of_task(*loop.store, "r1-train");
  ASSERT_EQ(att.size(), 1u);
  EXPECT_EQ(att[0].exit_code, 0);
  EXPECT_EQ(att[0].job_id, std::to_string(FakeExecutor::kFirstJobId));
  EXPECT_NEAR(*att[0].ended - *att[0].started, 30, 0.5);
  EXPECT_EQ(latest_metrics(*loop.store, "r1-train").at(0).step, 10);
  for (const auto& r : runs_of_experiment(*loop.store, "fake")) EXPECT_EQ(r.status, TaskState::kDone);
  // Simulated time went by in polls, not in wall time.
  EXPECT_NEAR(loop.clock.elapsed(), 31, 1);
  EXPECT_GT(loop.clock.sleeps(), 50);
  int launched = 0, done = 0;
  for (const auto& p : loop.progress) {
    launched += p.message.rfind("launched (local ", 0) == 0;
    done += p.message == "done";
  }
  EXPECT_EQ(launched, 4);
  EXPECT_EQ(done, 4);
}

TEST(RunLoop, NoMoreTasksRunAtOnceThanTheExecutorHasSlots) {
  Loop loop;
  auto ex = loop.executor(2);
  for (std::string r : {"r1", "r2", "r3", "r4", "r5"}) ex.script(r + "-train", {exits(0, 10)});
  const auto s = loop.run(ex, fake_plan({"r1", "r2", "r3", "r4", "r5"}, false));
  EXPECT_EQ(s.done, 5);
  EXPECT_EQ(ex.max_overlap(), 2);
  EXPECT_NEAR(loop.clock.elapsed(), 30, 1);  // three rounds of two
  EXPECT_LT(only_launch(ex, "r2-train").start, *only_launch(ex, "r1-train").end);
  EXPECT_GE(only_launch(ex, "r3-train").start, *only_launch(ex, "r1-train").end);
}

TEST(RunLoop, GpuTasksNeverShareAGpu) {
  Loop loop;
  auto ex = loop.executor(0, {"0", "1"});
  Plan plan = fake_plan({"r1", "r2", "r3", "r4"}, false);
  plan.tasks[3].spec = R"({"gpus":2,"iterations":10})";  // a multi-GPU training takes both
  const auto s = loop.run(ex, plan);
  EXPECT_EQ(s.done, 4);
  EXPECT_EQ(only_launch(ex, "r4-train").gpus, "0,1");
  EXPECT_EQ(attempts_of_task(*loop.store, "r4-train")[0].gpus, "0,1");
  const auto& all = ex.launches();
  for (size_t a = 0; a < all.size(); ++a)
    for (size_t b = a + 1; b < all.size(); ++b) {
      const bool overlap = all[a].start < *all[b].end && all[b].start < *all[a].end;
      const bool share = (all[a].gpus.find('0') != std::string::npos && all[b].gpus.find('0') != std::string::npos) ||
                         (all[a].gpus.find('1') != std::string::npos && all[b].gpus.find('1') != std::string::npos);
      EXPECT_FALSE(overlap && share) << all[a].key << " and " << all[b].key;
    }
}

TEST(RunLoop, ATaskThatCanNeverFitFailsWithWhatToChange) {
  Loop loop;
  auto ex = loop.executor(0, {"0", "1"});
  Plan plan = fake_plan({"r1"}, true);
  plan.tasks[0].processes = 4;  // a data-parallel training of 4 ranks, one GPU each
  const auto s = loop.run(ex, plan);
  EXPECT_EQ(outcome(s, "r1-train").state, TaskState::kFailed);
  EXPECT_EQ(outcome(s, "r1-train").reason,
            "needs 4 GPUs (4 processes); the local executor has fewer (--gpus; or lower train.world_size)");
  EXPECT_EQ(outcome(s, "r1-sample").reason, "dependency r1-train failed");
  EXPECT_TRUE(ex.launches().empty());
}

TEST(RunLoop, TransientFailuresRetryAfterADoublingBackoff) {
  Loop loop;
  auto ex = loop.executor(2);
  ex.script("r1-train", {exits(1, 2), killed_by(9, 2), exits(0, 2)});
  ex.script("r2-train", {exits(1, 2)});
  const auto s = loop.run(ex, fake_plan({"r1", "r2"}, false));
  EXPECT_EQ(outcome(s, "r1-train").state, TaskState::kDone);
  EXPECT_EQ(outcome(s, "r1-train").attempts, 3);
  EXPECT_EQ(outcome(s, "r2-train").state, TaskState::kFailed);
  EXPECT_EQ(outcome(s, "r2-train").reason, "exit 1 (internal error) (after 3 attempts)");
  const auto att = attempts_of_task(*loop.store, "r1-train");
  ASSERT_EQ(att.size(), 3u);
  EXPECT_EQ(att[0].reason, "exit 1 (internal error)");
  EXPECT_EQ(att[1].reason, "signal 9");
  EXPECT_FALSE(att[1].exit_code.has_value());
  // 10 s, then 20 s, up to one poll late; the log file carries the store's attempt number.
  EXPECT_NEAR(*att[1].started - *att[0].ended, 10, 0.5);
  EXPECT_NEAR(*att[2].started - *att[1].ended, 20, 0.5);
  EXPECT_EQ(ex.launches_of("r1-train")[2].request.env.at("REPRO_TASK_ATTEMPT"), "3");
  bool told = false;
  for (const auto& p : loop.progress) told |= p.message == "exit 1 (internal error): retry in 10 s";
  EXPECT_TRUE(told);
}

TEST(RunLoop, BackoffIsCappedAndOtherTasksRunMeanwhile) {
  Loop loop;
  loop.options.retry.max_attempts = 4;
  loop.options.retry.backoff_s = 100;
  loop.options.retry.backoff_max_s = 150;
  auto ex = loop.executor(1);
  ex.script("r1-train", {exits(6, 1), exits(6, 1), exits(0, 1)});
  ex.script("r2-train", {exits(0, 50)});
  loop.run(ex, fake_plan({"r1", "r2"}, false));
  const auto att = attempts_of_task(*loop.store, "r1-train");
  ASSERT_EQ(att.size(), 3u);
  EXPECT_EQ(att[0].reason, "exit 6 (interrupted by a signal from outside)");
  EXPECT_NEAR(*att[1].started - *att[0].ended, 100, 0.5);
  EXPECT_NEAR(*att[2].started - *att[1].ended, 150, 0.5);         // 200 capped
  EXPECT_LT(only_launch(ex, "r2-train").start, *att[1].started);  // its slot was used meanwhile
}

TEST(RunLoop, PermanentFailuresFailTheirDependantsAndTheSweepGoesOn) {
  Loop loop;
  auto ex = loop.executor(2);
  ex.script("r1-train", {exits(2, 1)});
  ex.script("r2-train", {exits(5, 1)});
  const auto s = loop.run(ex, fake_plan({"r1", "r2", "r3"}, true));
  EXPECT_EQ(s.failed, 4);
  EXPECT_EQ(s.done, 2);
  EXPECT_EQ(outcome(s, "r1-train").attempts, 1);
  EXPECT_EQ(outcome(s, "r1-train").reason, "exit 2 (bad command line or config)");
  EXPECT_EQ(outcome(s, "r2-train").reason, "exit 5 (diverged)");
  EXPECT_EQ(outcome(s, "r1-sample").reason, "dependency r1-train failed");
  EXPECT_EQ(outcome(s, "r1-sample").attempts, 0);
  EXPECT_TRUE(ex.launches_of("r1-sample").empty());
  EXPECT_EQ(state_of(*loop.store, "r3", "r3-sample"), TaskState::kDone);
  EXPECT_EQ(runs_of_experiment(*loop.store, "fake")[0].status, TaskState::kFailed);
}

TEST(RunLoop, ALaunchThatFailsFailsTheTask) {
  Loop loop;
  auto ex = loop.executor(2);
  ex.fail_launch("r1-train", "cannot start task r1-train (/fake/repro): no such file");
  const auto s = loop.run(ex, fake_plan({"r1", "r2"}, false));
  EXPECT_EQ(outcome(s, "r1-train").state, TaskState::kFailed);
  EXPECT_EQ(outcome(s, "r1-train").attempts, 1);
  EXPECT_EQ(outcome(s, "r1-train").reason, "cannot start task r1-train (/fake/repro): no such file");
  EXPECT_TRUE(attempts_of_task(*loop.store, "r1-train").empty());
  EXPECT_EQ(outcome(s, "r2-train").state, TaskState::kDone);
}

TEST(RunLoop, ATimeoutFailsTheTaskAfterItCheckpointed) {
  Loop loop;
  loop.options.task_timeout_s = 5;
  auto ex = loop.executor(1);
  ex.script("r1-train", {exits(0, 600)});
  const auto s = loop.run(ex, fake_plan({"r1"}, true));
  EXPECT_EQ(outcome(s, "r1-train").state, TaskState::kFailed);
  EXPECT_EQ(outcome(s, "r1-train").attempts, 1);
  EXPECT_EQ(outcome(s, "r1-sample").reason, "dependency r1-train failed");
  const auto att = attempts_of_task(*loop.store, "r1-train");
  ASSERT_EQ(att.size(), 1u);
  EXPECT_EQ(att[0].exit_code, 6);
  EXPECT_EQ(att[0].reason.rfind("timeout after ", 0), 0u) << att[0].reason;
  EXPECT_LT(loop.clock.elapsed(), 10);
}

TEST(RunLoop, RetryTimeoutsLaunchesATimedOutTaskAgain) {
  Loop loop;
  loop.options.task_timeout_s = 5;
  loop.options.retry.retry_timeouts = true;
  auto ex = loop.executor(1);
  // The first attempt ignores SIGTERM and is killed after the grace; the second finishes in time.
  FakeAttempt stuck = exits(0, 600);
  stuck.exits_after_term.reset();
  ex.script("r1-train", {stuck, exits(0, 3)});
  const auto s = loop.run(ex, fake_plan({"r1"}, false));
  EXPECT_EQ(outcome(s, "r1-train").state, TaskState::kDone);
  EXPECT_EQ(outcome(s, "r1-train").attempts, 2);
  const auto att = attempts_of_task(*loop.store, "r1-train");
  ASSERT_EQ(att.size(), 2u);
  EXPECT_FALSE(att[0].exit_code.has_value());
  EXPECT_EQ(att[0].reason.rfind("timeout after ", 0), 0u) << att[0].reason;
  EXPECT_NE(att[0].reason.find("(signal 9)"), std::string::npos) << att[0].reason;
}

TEST(RunLoop, ASampleStartsOnceItsCheckpointExistsWhileTrainingGoesOn) {
  Loop loop;
  auto ex = loop.executor(2);
  FakeAttempt train = exits(0, 100);
  train.files = {{30, "checkpoints/early.pt"}};
  ex.script("r-train", {train});
  Plan p = fake_plan({"r"}, false);
  for (const char* k : {"early", "late"}) {
    TaskSpec t = task_spec(std::string("r-sample-") + k, "r", "sample", {"r-train"}, R"({"steps":50})");
    t.early_start_file = std::string("checkpoints/") + k + ".pt";
    p.tasks.push_back(t);
  }
  const auto s = loop.run(ex, p);
  EXPECT_EQ(s.done, 3);
  const auto train_end = *only_launch(ex, "r-train").end;
  EXPECT_NEAR(only_launch(ex, "r-sample-early").start, loop.at(30), 0.6);
  EXPECT_LT(*only_launch(ex, "r-sample-early").end, train_end);
  EXPECT_GE(only_launch(ex, "r-sample-late").start, train_end);
}

TEST(RunLoop, CancelRequestStopsOneRunWhileTheOtherCompletes) {
  Loop loop;
  auto ex = loop.executor(2);
  for (std::string r : {"r1", "r2"}) ex.script(r + "-train", {exits(0, 20)});
  int64_t request = 0;
  loop.clock.at(loop.at(5), [&] { request = put_cancel_request(*loop.store, "r1", false); });
  const auto s = loop.run(ex, fake_plan({"r1", "r2"}, true));
  EXPECT_EQ(outcome(s, "r1-train").state, TaskState::kCancelled);
  EXPECT_EQ(outcome(s, "r1-train").reason, kCancelledByRequest);
  EXPECT_EQ(outcome(s, "r1-sample").state, TaskState::kCancelled);
  EXPECT_EQ(outcome(s, "r2-sample").state, TaskState::kDone);
  EXPECT_EQ(s.cancelled, 2);
  EXPECT_FALSE(s.interrupted);
  EXPECT_EQ(ex.cancels(), (std::vector<std::pair<std::string, bool>>{{"r1-train", false}}));
  EXPECT_TRUE(ex.launches_of("r1-sample").empty());
  const auto att = attempts_of_task(*loop.store, "r1-train");
  ASSERT_EQ(att.size(), 1u);
  EXPECT_EQ(att[0].exit_code, 6);
  EXPECT_EQ(att[0].reason, kCancelledByRequest);
  const auto r = cancel_request(*loop.store, request);
  ASSERT_TRUE(r && r->handled);
  EXPECT_EQ(r->handled_by, kHandledByRun);
  EXPECT_EQ(r->cancelled_tasks, 1);
  EXPECT_EQ(r->stopped_tasks, 1);
  EXPECT_EQ(runs_of_experiment(*loop.store, "fake")[0].status, TaskState::kCancelled);
}

TEST(RunLoop, ForcedCancelKillsTheTask) {
  Loop loop;
  auto ex = loop.executor(2);
  ex.script("r1-train", {exits(0, 20)});
  loop.clock.at(loop.at(5), [&] { put_cancel_request(*loop.store, "r1", true); });
  const auto s = loop.run(ex, fake_plan({"r1"}, false));
  EXPECT_EQ(outcome(s, "r1-train").state, TaskState::kCancelled);
  EXPECT_EQ(ex.cancels(), (std::vector<std::pair<std::string, bool>>{{"r1-train", true}}));
  EXPECT_EQ(attempts_of_task(*loop.store, "r1-train")[0].reason, "cancelled by repro cancel (signal 9)");
  EXPECT_LT(loop.clock.elapsed(), 7);
}

TEST(RunLoop, FirstStopRequestStopsGracefullyTheSecondKills) {
  Loop loop;
  std::atomic<int> stops{0};
  loop.options.stop_requests = &stops;
  auto ex = loop.executor(2);
  FakeAttempt stubborn = exits(0, 100);
  stubborn.exits_after_term.reset();
  ex.script("r1-train", {exits(0, 100)});
  ex.script("r2-train", {stubborn});
  loop.clock.at(loop.at(5), [&] { stops = 1; });
  loop.clock.at(loop.at(10), [&] { stops = 2; });
  const auto s = loop.run(ex, fake_plan({"r1", "r2", "r3"}, true));
  EXPECT_TRUE(s.interrupted);
  EXPECT_EQ(s.cancelled, 6);
  EXPECT_EQ(s.done, 0);
  EXPECT_EQ(outcome(s, "r3-train").reason, "cancelled before launch");
  EXPECT_EQ(outcome(s, "r1-train").reason, "cancelled");
  EXPECT_EQ(attempts_of_task(*loop.store, "r1-train")[0].exit_code, 6);  // stopped with a checkpoint
  EXPECT_EQ(attempts_of_task(*loop.store, "r2-train")[0].reason, "cancelled (signal 9)");
  EXPECT_NEAR(*only_launch(ex, "r2-train").end, loop.at(10), 0.6);
  EXPECT_TRUE(ex.launches_of("r3-train").empty());
}

TEST(RunLoop, AFinishedRunSkipsEverythingTheSecondTime) {
  Loop loop;
  auto first = loop.executor(2);
  first.script("r2-sample", {exits(3, 1)});
  loop.run(first, fake_plan({"r1", "r2"}, true));
  auto second = loop.executor(2);
  const auto s = loop.run(second, fake_plan({"r1", "r2", "r3"}, true));
  EXPECT_EQ(s.skipped, 3);
  EXPECT_EQ(s.done, 3);  // r2-sample again, and r3's two
  EXPECT_EQ(outcome(s, "r1-train").attempts, 0);
  EXPECT_TRUE(second.launches_of("r1-train").empty());
  EXPECT_EQ(only_launch(second, "r2-sample").request.env.at("REPRO_TASK_ATTEMPT"), "2");
}

TEST(RunLoop, ARestartAdoptsBatchJobsThatOutlivedTheirOrchestrator) {
  Loop loop;
  const Plan plan = fake_plan({"r1", "r2"}, true);
  auto first = loop.executor(2, {}, "slurm");
  first.script("r1-train", {exits(0, 20)});
  first.script("r2-train", {exits(0, 20)});
  loop.clock.at(loop.at(5), [] { throw Killed(); });
  EXPECT_THROW(loop.run(first, plan), Killed);
  EXPECT_EQ(state_of(*loop.store, "r1", "r1-train"), TaskState::kRunning);

  // r1-train's job still runs; r2-train's is gone.
  auto second = loop.executor(2, {}, "slurm");
  second.keep_alive(only_launch(first, "r1-train").job_id, exits(0, 15));
  const auto s = loop.run(second, plan);
  EXPECT_EQ(s.done, 4);
  EXPECT_TRUE(only_launch(second, "r1-train").adopted);
  EXPECT_EQ(attempts_of_task(*loop.store, "r1-train").size(), 1u);  // no second copy
  const auto r2 = attempts_of_task(*loop.store, "r2-train");
  ASSERT_EQ(r2.size(), 2u);
  EXPECT_EQ(r2[0].reason, "lost (the orchestrator ended while it ran)");
  EXPECT_FALSE(only_launch(second, "r2-train").adopted);
}

TEST(RunLoop, ARestartRelaunchesLostTasksAndSkipsOnesThatCompletedMeanwhile) {
  Loop loop;
  const Plan plan = fake_plan({"r1", "r2"}, false);
  auto first = loop.executor(2);
  first.script("r1-train", {exits(0, 20)});
  first.script("r2-train", {exits(0, 20)});
  loop.clock.at(loop.at(5), [] { throw Killed(); });
  EXPECT_THROW(loop.run(first, plan), Killed);
  // r2-train completed while no orchestrator watched; r1-train stopped on its death signal.
  const std::string events = run_dir_of(loop.options.project_dir, "r2") + "/tasks/r2-train.events.jsonl";
  std::ofstream(events, std::ios::app)
      << R"({"v":1,"seq":1,"time":1700000010,"type":"end","status":"completed","step":10,"message":""})"
      << "\n";

  auto second = loop.executor(2);
  const auto s = loop.run(second, plan);
  EXPECT_EQ(outcome(s, "r2-train").state, TaskState::kDone);
  EXPECT_TRUE(outcome(s, "r2-train").skipped);
  EXPECT_TRUE(second.launches_of("r2-train").empty());
  EXPECT_EQ(outcome(s, "r1-train").state, TaskState::kDone);
  const auto att = attempts_of_task(*loop.store, "r1-train");
  ASSERT_EQ(att.size(), 2u);
  EXPECT_EQ(att[0].reason, "lost (the orchestrator ended while it ran)");
  EXPECT_EQ(only_launch(second, "r1-train").request.env.at("REPRO_TASK_ATTEMPT"), "2");
}

TEST(RunLoop, ProgressCarriesStepsTotalsAndTheLoadedState) {
  Loop loop;
  auto ex = loop.executor(1);
  ex.script("r1-train", {exits(0, 3)});
  loop.run(ex, fake_plan({"r1"}, true));
  bool train_total = false, sample_total = false;
  for (const auto& p : loop.progress) {
    train_total |= p.task_id == "r1-train" && p.total_steps == 10 && p.step == 10 && p.message == "done";
    sample_total |= p.task_id == "r1-sample" && p.total_steps.has_value();
  }
  EXPECT_TRUE(train_total);
  EXPECT_FALSE(sample_total);  // only a train task's iterations are a total
}

}  // namespace
}  // namespace repro::runner
