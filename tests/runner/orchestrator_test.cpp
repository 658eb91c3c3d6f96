#include "runner/orchestrate/orchestrator.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <thread>

#include "base/util/errors.h"
#include "base/util/stop_signals.h"
#include "runner/executor/local_executor.h"
#include "runner/orchestrate/cancel.h"
#include "store/cancel_requests.h"
#include "store/queries.h"
#include "tests/runner/fake_project.h"
#include "tests/support/fake_plan.h"
#include "tests/support/overlap.h"
#include "tests/support/run_outcomes.h"
#include "tests/support/test_support.h"

namespace repro::runner {
namespace {

using test::fake_plan;
using test::outcome;
using test::state_of;
using test::task_spec;
using test::wait_until;

struct Fixture : test::FakeProject {};

// Highest number of tasks running at once, from the fake tasks' start and end (or term) times.
int max_overlap(const std::vector<test::TraceLine>& trace) {
  std::map<std::pair<std::string, int>, size_t> open;  // (task, attempt) -> its span
  std::vector<std::pair<double, double>> spans;
  for (const auto& t : trace) {
    const auto key = std::make_pair(t.task_id, t.attempt);
    if (t.what == "start") {
      open[key] = spans.size();
      spans.push_back({t.time, std::numeric_limits<double>::infinity()});
    } else if ((t.what == "end" || t.what == "term") && open.count(key)) {
      spans[open[key]].second = t.time;
    }
  }
  return test::max_overlap(spans);
}

TEST(Orchestrator, RunsTasksRecordsAttemptsAndIngestsEvents) {
  Fixture fx;
  Store store(fx.db);
  LocalExecutor ex({2, {}, 5});
  std::vector<TaskProgress> seen;
  auto o = fx.options();
  o.on_progress = [&](const TaskProgress& p) { seen.push_back(p); };
  const OrchestratorSummary s = Orchestrator(store, ex, o).run(fake_plan({"r1", "r2"}, true));
  EXPECT_EQ(s.done, 4);
  EXPECT_EQ(s.failed + s.cancelled + s.skipped, 0);
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(state_of(store, "r1", "r1-sample"), TaskState::kDone);
  const auto runs = runs_of_experiment(store, "fake");
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].status, TaskState::kDone);
  const auto att = attempts_of_task(store, "r1-train");
  ASSERT_EQ(att.size(), 1u);
  EXPECT_EQ(att[0].exit_code, 0);
  EXPECT_TRUE(att[0].ended.has_value());
  EXPECT_FALSE(att[0].job_id.empty());
  EXPECT_FALSE(att[0].host.empty());
  std::ifstream log(att[0].log_path);
  std::string first;
  std::getline(log, first);
  EXPECT_EQ(first, "working on r1-train attempt 1");
  // The task file the task read, and the events it wrote, ingested.
  const std::string run_dir = run_dir_of(fx.project, "r1");
  EXPECT_TRUE(std::filesystem::exists(task_file_of(run_dir, "r1-sample")));
  EXPECT_TRUE(std::filesystem::exists(run_dir + "/tasks/r1-train.events.jsonl"));
  EXPECT_TRUE(std::filesystem::exists(run_dir + "/tasks/r1-sample.events.jsonl"));
  const auto m = latest_metrics(store, "r1-train");
  ASSERT_FALSE(m.empty());
  EXPECT_EQ(m[0].step, 10);
  EXPECT_EQ(events_of_task(store, "r1-sample").size(), 2u);  // start, end
  // Progress: launched and done for each task, the train's step and total.
  int launched = 0, done = 0;
  bool train_step = false;
  for (const auto& p : seen) {
    launched += p.message.rfind("launched", 0) == 0;
    done += p.message == "done";
    train_step |= p.task_id == "r1-train" && p.step == 10 && p.total_steps == 10;
  }
  EXPECT_EQ(launched, 4);
  EXPECT_EQ(done, 4);
  EXPECT_TRUE(train_step);
}

TEST(Orchestrator, PermanentFailureIsNotRetriedAndFailsDependants) {
  Fixture fx;
  fx.set("r1-train.codes", "2\n");
  fx.set("r2-train.codes", "5\n");
  Store store(fx.db);
  LocalExecutor ex({2, {}, 5});
  const auto s = Orchestrator(store, ex, fx.options()).run(fake_plan({"r1", "r2", "r3"}, true));
  EXPECT_EQ(s.failed, 4);
  EXPECT_EQ(s.done, 2);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(outcome(s, "r1-train").attempts, 1);
  EXPECT_NE(outcome(s, "r1-train").reason.find("exit 2"), std::string::npos) << outcome(s, "r1-train").reason;
  EXPECT_NE(outcome(s, "r2-train").reason.find("diverged"), std::string::npos);
  EXPECT_EQ(outcome(s, "r1-sample").state, TaskState::kFailed);
  EXPECT_EQ(outcome(s, "r1-sample").attempts, 0);
  EXPECT_EQ(outcome(s, "r1-sample").reason, "dependency r1-train failed");
  EXPECT_EQ(state_of(store, "r3", "r3-sample"), TaskState::kDone);  // the sweep went on
  const auto att = attempts_of_task(store, "r1-train");
  ASSERT_EQ(att.size(), 1u);
  EXPECT_EQ(att[0].exit_code, 2);
  for (const auto& t : test::read_trace(fx.ctl))
    EXPECT_NE(t.task_id, "r1-sample") << "a dependant of a failed task ran";
  EXPECT_EQ(runs_of_experiment(store, "fake")[0].status, TaskState::kFailed);
}

TEST(Orchestrator, DependantsStartAfterTheirDependency) {
  Fixture fx;
  fx.set("default.sleep", "0.3");
  Store store(fx.db);
  LocalExecutor ex({4, {}, 5});
  const auto s = Orchestrator(store, ex, fx.options()).run(fake_plan({"r1", "r2"}, true));
  EXPECT_EQ(s.done, 4);
  std::map<std::string, double> start, end;
  for (const auto& t : test::read_trace(fx.ctl)) (t.what == "start" ? start : end)[t.task_id] = t.time;
  for (std::string r : {"r1", "r2"}) EXPECT_GE(start[r + "-sample"], end[r + "-train"]) << r;
}

TEST(Orchestrator, ASampleStartsOnceItsCheckpointExistsWhileTrainingGoesOn) {
  Fixture fx;
  fx.set("default.sleep", "0.2");
  fx.set("r-train.sleep", "3");
  Plan p = fake_plan({"r"}, false);
  for (const char* k : {"early", "late"}) {
    TaskSpec t = task_spec(std::string("r-sample-") + k, "r", "sample", {"r-train"}, R"({"steps":50})");
    t.early_start_file = std::string("checkpoints/") + k + ".pt";
    p.tasks.push_back(t);
  }
  // The trainer has written the early checkpoint; the late one never appears before it ends.
  std::filesystem::create_directories(fx.project + "/runs/r/checkpoints");
  test::write_text(fx.project + "/runs/r/checkpoints/early.pt", "weights");
  Store store(fx.db);
  LocalExecutor ex({2, {}, 5});
  const auto s = Orchestrator(store, ex, fx.options()).run(p);
  EXPECT_EQ(s.done, 3);
  std::map<std::string, double> start, end;
  for (const auto& t : test::read_trace(fx.ctl)) (t.what == "start" ? start : end)[t.task_id] = t.time;
  EXPECT_LT(end["r-sample-early"], end["r-train"]);  // ran beside the training
  EXPECT_GE(start["r-sample-late"], end["r-train"]);
}

TEST(Orchestrator, TransientFailureRetriedWithBackoff) {
  Fixture fx;
  fx.set("r1-train.codes", "1\n137\n0\n");
  fx.set("r2-train.codes", "1\n1\n1\n");
  Store store(fx.db);
  LocalExecutor ex({2, {}, 5});
  const auto s = Orchestrator(store, ex, fx.options()).run(fake_plan({"r1", "r2"}, false));
  EXPECT_EQ(outcome(s, "r1-train").state, TaskState::kDone);
  EXPECT_EQ(outcome(s, "r1-train").attempts, 3);
  EXPECT_EQ(outcome(s, "r2-train").state, TaskState::kFailed);
  EXPECT_EQ(outcome(s, "r2-train").attempts, 3);
  EXPECT_NE(outcome(s, "r2-train").reason.find("after 3 attempts"), std::string::npos);
  const auto att = attempts_of_task(store, "r1-train");
  ASSERT_EQ(att.size(), 3u);
  EXPECT_EQ(att[0].exit_code, 1);
  EXPECT_EQ(att[1].exit_code, 137);
  EXPECT_EQ(att[2].exit_code, 0);
  // Backoff 0.3 s, then 0.6 s (0.05 s of slack for the clocks).
  EXPECT_GE(*att[1].started - *att[0].ended, 0.25);
  EXPECT_GE(*att[2].started - *att[1].ended, 0.55);
  EXPECT_NE(att[0].log_path, att[1].log_path);
}

TEST(Orchestrator, TimeoutStopsTheTaskAndIsRecorded) {
  Fixture fx;
  fx.set("r1-train.sleep", "60");
  Store store(fx.db);
  LocalExecutor ex({1, {}, 5});
  auto o = fx.options();
  o.task_timeout_s = 0.5;
  const auto s = Orchestrator(store, ex, o).run(fake_plan({"r1"}, true));
  EXPECT_EQ(outcome(s, "r1-train").state, TaskState::kFailed);
  EXPECT_EQ(outcome(s, "r1-train").attempts, 1);
  EXPECT_EQ(outcome(s, "r1-sample").state, TaskState::kFailed);
  const auto att = attempts_of_task(store, "r1-train");
  ASSERT_EQ(att.size(), 1u);
  EXPECT_NE(att[0].reason.find("timeout"), std::string::npos) << att[0].reason;
  EXPECT_EQ(att[0].exit_code, 6);  // it checkpointed and stopped on SIGTERM
  bool term = false;
  for (const auto& t : test::read_trace(fx.ctl)) term |= t.what == "term";
  EXPECT_TRUE(term);
}

TEST(Orchestrator, MaxParallelIsRespected) {
  Fixture fx;
  fx.set("default.sleep", "0.5");
  Store store(fx.db);
  LocalExecutor ex({2, {}, 5});
  const auto s = Orchestrator(store, ex, fx.options()).run(fake_plan({"r1", "r2", "r3", "r4", "r5"}, false));
  EXPECT_EQ(s.done, 5);
  EXPECT_EQ(max_overlap(test::read_trace(fx.ctl)), 2);
}

TEST(Orchestrator, GpuSlotsHandedOutThroughCudaVisibleDevices) {
  Fixture fx;
  fx.set("default.sleep", "0.5");
  Store store(fx.db);
  LocalExecutor ex({0, {"0", "1"}, 5});
  Plan plan = fake_plan({"r1", "r2", "r3", "r4"}, false);
  plan.tasks[3].spec = R"({"gpus":2,"iterations":10})";  // a multi-GPU training task takes both
  const auto s = Orchestrator(store, ex, fx.options()).run(plan);
  EXPECT_EQ(s.done, 4);
  const auto trace = test::read_trace(fx.ctl);
  EXPECT_LE(max_overlap(trace), 2);
  // No two tasks held the same GPU at once.
  std::map<std::string, std::pair<double, double>> span;
  std::map<std::string, std::string> gpus;
  for (const auto& t : trace) {
    if (t.what == "start")
      span[t.task_id].first = t.time, gpus[t.task_id] = t.extra;
    else
      span[t.task_id].second = t.time;
  }
  EXPECT_EQ(gpus["r4-train"], "gpus=0,1");
  for (const auto& [a, ga] : gpus) {
    EXPECT_TRUE(ga == "gpus=0" || ga == "gpus=1" || ga == "gpus=0,1") << ga;
    for (const auto& [b, gb] : gpus) {
      if (a >= b) continue;
      const bool overlap = span[a].first < span[b].second && span[b].first < span[a].second;
      const bool share = (ga.find('0') != std::string::npos && gb.find('0') != std::string::npos) ||
                         (ga.find('1') != std::string::npos && gb.find('1') != std::string::npos);
      EXPECT_FALSE(overlap && share) << a << " " << ga << " and " << b << " " << gb;
    }
  }
  EXPECT_EQ(attempts_of_task(store, "r4-train")[0].gpus, "0,1");
}

TEST(Orchestrator, SecondRunSkipsDoneTasksAndLaunchesOnlyMissingOnes) {
  Fixture fx;
  {
    Store store(fx.db);
    LocalExecutor ex({2, {}, 5});
    fx.set("r2-sample.codes", "3\n");
    const auto s = Orchestrator(store, ex, fx.options()).run(fake_plan({"r1", "r2"}, true));
    EXPECT_EQ(s.done, 3);
    EXPECT_EQ(s.failed, 1);
  }
  Store store(fx.db);
  LocalExecutor ex({2, {}, 5});
  const Plan plan = fake_plan({"r1", "r2", "r3"}, true);
  const auto dry = Orchestrator::dry_run(&store, ex, plan, fx.options());
  ASSERT_EQ(dry.size(), 6u);
  EXPECT_EQ(dry[0].action, "skip");
  EXPECT_EQ(dry[3].action, "launch");  // r2-sample, failed before
  EXPECT_EQ(dry[3].state, "failed");
  EXPECT_EQ(dry[4].state, "new");
  EXPECT_EQ(dry[5].action, "wait");
  EXPECT_EQ(dry[4].argv,
            (std::vector<std::string>{fx.binary, "task", task_file_of(run_dir_of(fx.project, "r3"), "r3-train")}));
  const auto s = Orchestrator(store, ex, fx.options()).run(plan);
  EXPECT_EQ(s.skipped, 3);
  EXPECT_EQ(s.done, 3);  // r2-sample again (code 0 for its second attempt), r3's two
  EXPECT_EQ(outcome(s, "r1-train").attempts, 0);
  for (const auto& [id, n] : test::read_completed(fx.ctl)) EXPECT_EQ(n, 1) << id;
  EXPECT_EQ(test::read_completed(fx.ctl).size(), 6u);
  EXPECT_EQ(attempts_of_task(store, "r2-sample").size(), 2u);
  EXPECT_EQ(runs_of_experiment(store, "fake").size(), 3u);
}

TEST(Orchestrator, SecondOrchestratorInTheSameProjectIsRefused) {
  Fixture fx;
  fx.set("default.sleep", "1");
  pid_t child = ::fork();
  if (child == 0) {
    try {
      Store store(fx.db);
      LocalExecutor ex({1, {}, 5});
      Orchestrator(store, ex, fx.options()).run(fake_plan({"r1"}, false));
    } catch (...) {
      ::_exit(98);
    }
    ::_exit(0);
  }
  // Wait until the first holds the lock (its task started).
  wait_until([&] { return !test::read_trace(fx.ctl).empty(); }, 30);
  Store store(fx.db);
  LocalExecutor ex({1, {}, 5});
  EXPECT_NE(test::error_message([&] {
              Orchestrator(store, ex, fx.options()).run(fake_plan({"r1"}, false));
            }).find("another `repro run`"),
            std::string::npos);
  int status = 0;
  ::waitpid(child, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

// Runs the orchestrator in a forked child (a process of its own that the test can signal or
// kill); the child writes "done failed cancelled skipped" to <ctl>/summary and exits 0.
pid_t fork_orchestrator(const Fixture& fx, const Plan& plan, int max_parallel, bool with_signals) {
  const pid_t child = ::fork();
  if (child != 0) return child;
  try {
    std::optional<StopSignals> signals;
    if (with_signals) signals.emplace();
    Store store(fx.db);
    LocalExecutor ex({max_parallel, {}, 5});
    auto o = fx.options();
    if (signals) o.stop_requests = signals->count();
    const auto s = Orchestrator(store, ex, o).run(plan);
    test::write_text(fx.ctl + "/summary", std::to_string(s.done) + " " + std::to_string(s.failed) + " " +
                                              std::to_string(s.cancelled) + " " + std::to_string(s.skipped) + "\n");
  } catch (const std::exception& e) {
    test::write_text(fx.ctl + "/summary", std::string("error ") + e.what());
    ::_exit(98);
  }
  ::_exit(0);
}

// waitpid with a generous limit; kills the child and fails past it.
int wait_child(pid_t child, double limit_s = 60) {
  int status = 0;
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(limit_s);
  while (::waitpid(child, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > until) {
      ::kill(child, SIGKILL);
      ::waitpid(child, &status, 0);
      ADD_FAILURE() << "the orchestrator did not end within " << limit_s << " s";
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return status;
}

TEST(Orchestrator, KilledOrchestratorLosesNothingAndRerunRunsNoTaskTwice) {
  Fixture fx;
  fx.set("default.sleep", "3");
  fx.set("r1-train.sleep", "0.1");
  const Plan plan = fake_plan({"r1", "r2", "r3"}, true);
  const pid_t child = fork_orchestrator(fx, plan, 2, false);
  // Kill it once r1-train has completed and r1-sample runs beside r2-train.
  const bool reached = wait_until([&] {
    for (const auto& t : test::read_trace(fx.ctl))
      if (t.what == "start" && t.task_id == "r1-sample") return true;
    return false;
  });
  ::kill(child, SIGKILL);
  wait_child(child);
  ASSERT_TRUE(reached);
  {
    Store store(fx.db);
    EXPECT_EQ(state_of(store, "r1", "r1-train"), TaskState::kDone);
    EXPECT_EQ(state_of(store, "r2", "r2-train"), TaskState::kRunning);  // as the dead orchestrator left it
  }
  // The tasks got SIGTERM from PR_SET_PDEATHSIG and stop on their own.
  EXPECT_TRUE(wait_until([&] {
    int terms = 0;
    for (const auto& t : test::read_trace(fx.ctl)) terms += t.what == "term";
    return terms == 2;
  })) << "the orphaned tasks did not get SIGTERM";

  Store store(fx.db);
  LocalExecutor ex({2, {}, 5});
  const auto s = Orchestrator(store, ex, fx.options()).run(plan);
  EXPECT_EQ(s.skipped, 1);
  EXPECT_EQ(s.done, 5);
  EXPECT_TRUE(s.ok());
  const auto completed = test::read_completed(fx.ctl);
  EXPECT_EQ(completed.size(), 6u);
  for (const auto& [id, n] : completed) EXPECT_EQ(n, 1) << id << " ran to completion " << n << " times";
  const auto att = attempts_of_task(store, "r2-train");
  ASSERT_EQ(att.size(), 2u);
  EXPECT_NE(att[0].reason.find("lost"), std::string::npos) << att[0].reason;
  EXPECT_FALSE(att[0].exit_code.has_value());
  EXPECT_EQ(att[1].exit_code, 0);
  // Its events: the first attempt's interruption, then the second's completion, all ingested.
  std::vector<std::string> ends;
  for (const auto& e : events_of_task(store, "r2-train"))
    if (e.type == "end") ends.push_back(nlohmann::json::parse(e.record)["status"]);
  EXPECT_EQ(ends, (std::vector<std::string>{"interrupted", "completed"}));
}

// What the orchestrator process wrote to ctl/summary when it ended (fork_orchestrator).
struct Summary {
  int done = -1, failed = -1, cancelled = -1, skipped = -1;
};
Summary read_summary(const Fixture& fx) {
  Summary s;
  std::ifstream in(fx.ctl + "/summary");
  in >> s.done >> s.failed >> s.cancelled >> s.skipped;
  return s;
}

TEST(Orchestrator, SigtermStopsTasksGracefully) {
  Fixture fx;
  fx.set("default.sleep", "60");
  const pid_t child = fork_orchestrator(fx, fake_plan({"r1", "r2"}, true), 2, true);
  const bool started = wait_until([&] { return test::read_trace(fx.ctl).size() >= 2; });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the shells set their traps
  ::kill(child, SIGTERM);
  const int status = wait_child(child);
  ASSERT_TRUE(started);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  const Summary summary = read_summary(fx);
  EXPECT_EQ(summary.done, 0);
  EXPECT_EQ(summary.failed, 0);
  EXPECT_EQ(summary.cancelled, 4);
  Store store(fx.db);
  for (std::string r : {"r1", "r2"}) {
    EXPECT_EQ(state_of(store, r, r + "-train"), TaskState::kCancelled);
    EXPECT_EQ(state_of(store, r, r + "-sample"), TaskState::kCancelled);
    const auto att = attempts_of_task(store, r + "-train");
    ASSERT_EQ(att.size(), 1u);
    EXPECT_EQ(att[0].exit_code, 6);  // it checkpointed and stopped
    EXPECT_EQ(att[0].reason, "cancelled");
  }
  int terms = 0;
  for (const auto& t : test::read_trace(fx.ctl)) terms += t.what == "term";
  EXPECT_EQ(terms, 2);
  EXPECT_EQ(runs_of_experiment(store, "fake")[0].status, TaskState::kCancelled);
}

// ---- repro cancel (runner/orchestrate/cancel.h) ----

bool traced(const Fixture& fx, const std::string& what, const std::string& task_id) {
  for (const auto& t : test::read_trace(fx.ctl))
    if (t.what == what && t.task_id == task_id) return true;
  return false;
}

std::string handled_by(Store& store) {
  return store.db()
      .execAndGet("SELECT group_concat(ifnull(handled_by, 'waiting'), ',') FROM cancel_requests")
      .getString();
}

TEST(Orchestrator, CancelOfOneRunStopsItWhileTheOtherRunCompletes) {
  Fixture fx;
  fx.set("r1-train.sleep", "60");
  fx.set("r2-train.sleep", "1");
  const pid_t child = fork_orchestrator(fx, fake_plan({"r1", "r2"}, true), 2, false);
  ASSERT_TRUE(wait_until([&] { return traced(fx, "start", "r1-train"); })) << "r1-train never started";
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the shell set its trap
  CancelReport report;
  {
    Store store(fx.db);
    const CancelTarget target = resolve_cancel_target(store, "r1");
    ASSERT_EQ(target.run_ids, (std::vector<std::string>{"r1"}));
    report = cancel_runs(store, target, CancelOptions{});
  }
  const int status = wait_child(child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_TRUE(report.by_orchestrator);
  EXPECT_FALSE(report.waiting);
  EXPECT_EQ(report.cancelled_tasks, 1);  // r1-sample, never launched
  EXPECT_EQ(report.stopped_tasks, 1);    // r1-train
  const Summary s = read_summary(fx);
  EXPECT_EQ(s.done, 2);
  EXPECT_EQ(s.failed, 0);
  EXPECT_EQ(s.cancelled, 2);
  Store store(fx.db);
  EXPECT_EQ(state_of(store, "r1", "r1-train"), TaskState::kCancelled);
  EXPECT_EQ(state_of(store, "r1", "r1-sample"), TaskState::kCancelled);
  EXPECT_EQ(state_of(store, "r2", "r2-train"), TaskState::kDone);
  EXPECT_EQ(state_of(store, "r2", "r2-sample"), TaskState::kDone);
  const auto att = attempts_of_task(store, "r1-train");
  ASSERT_EQ(att.size(), 1u);
  EXPECT_EQ(att[0].exit_code, 6);  // SIGTERM: it checkpointed and stopped
  EXPECT_EQ(att[0].reason, kCancelledByRequest);
  EXPECT_TRUE(traced(fx, "term", "r1-train"));
  EXPECT_FALSE(traced(fx, "start", "r1-sample")) << "a task of the cancelled run was launched";
  const auto runs = runs_of_experiment(store, "fake");
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].status, TaskState::kCancelled);
  EXPECT_EQ(runs[1].status, TaskState::kDone);
  EXPECT_EQ(handled_by(store), "repro run");
}

TEST(Orchestrator, ForcedCancelOfAnExperimentKillsItsTasks) {
  Fixture fx;
  fx.set("default.sleep", "60");
  const pid_t child = fork_orchestrator(fx, fake_plan({"r1", "r2"}, true), 2, false);
  ASSERT_TRUE(wait_until([&] { return traced(fx, "start", "r1-train") && traced(fx, "start", "r2-train"); }));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CancelReport report;
  {
    Store store(fx.db);
    CancelOptions o;
    o.force = true;
    report = cancel_runs(store, resolve_cancel_target(store, "fake"), o);
  }
  const int status = wait_child(child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_TRUE(report.by_orchestrator);
  EXPECT_EQ(report.cancelled_tasks, 2);
  EXPECT_EQ(report.stopped_tasks, 2);
  EXPECT_EQ(read_summary(fx).cancelled, 4);
  Store store(fx.db);
  for (std::string r : {"r1", "r2"}) {
    EXPECT_EQ(state_of(store, r, r + "-train"), TaskState::kCancelled);
    EXPECT_EQ(state_of(store, r, r + "-sample"), TaskState::kCancelled);
    const auto att = attempts_of_task(store, r + "-train");
    ASSERT_EQ(att.size(), 1u);
    EXPECT_FALSE(att[0].exit_code.has_value());  // killed, no checkpoint
    EXPECT_NE(att[0].reason.find(kCancelledByRequest), std::string::npos) << att[0].reason;
    EXPECT_FALSE(traced(fx, "term", r + "-train")) << "--force let the task run its SIGTERM handler";
  }
}

TEST(Orchestrator, CancelWithoutOrchestratorCancelsInTheStoreAndARerunResumes) {
  Fixture fx;
  fx.set("default.sleep", "30");
  const Plan plan = fake_plan({"r1", "r2"}, true);
  // An orchestrator dies by SIGKILL while r1-train runs: the other three tasks stay pending and
  // r1-train `running`, its process stopping on the SIGTERM of PR_SET_PDEATHSIG.
  const pid_t child = fork_orchestrator(fx, plan, 1, false);
  const bool started = wait_until([&] { return traced(fx, "start", "r1-train"); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ::kill(child, SIGKILL);
  wait_child(child);
  ASSERT_TRUE(started);
  {
    Store store(fx.db);
    ASSERT_EQ(state_of(store, "r1", "r1-train"), TaskState::kRunning);
    ASSERT_EQ(state_of(store, "r2", "r2-train"), TaskState::kPending);
    CancelOptions o;
    o.kill_grace_s = 10;
    const CancelReport report = cancel_runs(store, resolve_cancel_target(store, "fake"), o);
    EXPECT_FALSE(report.by_orchestrator);
    EXPECT_FALSE(report.waiting);
    EXPECT_EQ(report.cancelled_tasks, 3);
    EXPECT_EQ(report.stopped_tasks, 1);
    EXPECT_EQ(report.finished_tasks, 0);
    for (std::string r : {"r1", "r2"}) {
      EXPECT_EQ(state_of(store, r, r + "-train"), TaskState::kCancelled) << r;
      EXPECT_EQ(state_of(store, r, r + "-sample"), TaskState::kCancelled) << r;
    }
    const auto att = attempts_of_task(store, "r1-train");
    ASSERT_EQ(att.size(), 1u);
    EXPECT_TRUE(att[0].ended.has_value()) << "the dead orchestrator's attempt was left open";
    EXPECT_EQ(att[0].reason, kCancelledByRequest);
    EXPECT_EQ(runs_of_experiment(store, "fake")[0].status, TaskState::kCancelled);
    EXPECT_EQ(handled_by(store), "repro cancel,repro cancel");
    // Its process is gone: stopped here, or on its own.
    EXPECT_TRUE(traced(fx, "term", "r1-train"));
  }
  // A cancel is not a completion: the next run launches every cancelled task.
  fx.set("default.sleep", "0.1");
  Store store(fx.db);
  LocalExecutor ex({2, {}, 5});
  const auto s = Orchestrator(store, ex, fx.options()).run(plan);
  EXPECT_EQ(s.done, 4);
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(attempts_of_task(store, "r1-train").size(), 2u);
  EXPECT_EQ(test::read_completed(fx.ctl).size(), 4u);
  EXPECT_EQ(handled_by(store), "repro cancel,repro cancel");  // the old requests did not cancel it again
}

TEST(Orchestrator, ACancelRequestLeftWaitingDoesNotCancelALaterRun) {
  Fixture fx;
  Store store(fx.db);
  const Plan plan = fake_plan({"r1"}, true);
  put_experiment(store, plan.experiment);
  put_run(store, {"r1", "fake", "{}", 0, "{}", run_dir_of(fx.project, "r1")});
  put_cancel_request(store, "r1", false);  // as a `repro cancel` killed before anyone took it
  LocalExecutor ex({1, {}, 5});
  const auto s = Orchestrator(store, ex, fx.options()).run(plan);
  EXPECT_EQ(s.done, 2);
  EXPECT_EQ(s.cancelled, 0);
  EXPECT_EQ(handled_by(store), "expired");
}

TEST(CancelTarget, ExperimentRunIdOrUniquePrefixElseAConfigError) {
  test::TempDir dir;
  Store store(dir.file("repro.db"));
  put_experiment(store, {"table3", "table3.yaml", std::string(64, '0')});
  int64_t position = 0;
  for (const char* r : {"ab12", "ab34", "cd56", "ab3"})
    put_run(store, {r, "table3", "{}", position++, "{}", dir.file(std::string("runs/") + r)});
  const CancelTarget experiment = resolve_cancel_target(store, "table3");
  EXPECT_EQ(experiment.experiment, "table3");
  EXPECT_EQ(experiment.run_ids, (std::vector<std::string>{"ab12", "ab34", "cd56", "ab3"}));
  EXPECT_EQ(resolve_cancel_target(store, "cd56").run_ids, (std::vector<std::string>{"cd56"}));
  EXPECT_EQ(resolve_cancel_target(store, "c").run_ids, (std::vector<std::string>{"cd56"}));
  EXPECT_EQ(resolve_cancel_target(store, "ab3").run_ids, (std::vector<std::string>{"ab3"}));  // exact beats prefix
  EXPECT_TRUE(resolve_cancel_target(store, "ab1").experiment.empty());

  auto config_error = [&](const std::string& name) {
    try {
      resolve_cancel_target(store, name);
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no ConfigError");
  };
  const std::string unknown = config_error("zz");
  EXPECT_NE(unknown.find("no experiment or run 'zz'"), std::string::npos) << unknown;
  EXPECT_NE(unknown.find(store.path()), std::string::npos) << unknown;
  const std::string ambiguous = config_error("ab");
  EXPECT_NE(ambiguous.find("several run ids (ab12, ab3, ab34)"), std::string::npos) << ambiguous;
  EXPECT_NE(config_error("").find("expected an experiment name or a run id"), std::string::npos);
  // Nothing was requested.
  EXPECT_EQ(store.db().execAndGet("SELECT count(*) FROM cancel_requests").getInt(), 0);
}

TEST(OrchestratorPolicy, ExitCodes) {
  auto verdict = [](std::optional<int> code, std::optional<int> sig = {}, bool timed_out = false,
                    bool cancelled = false) {
    Finished f;
    f.exit_code = code;
    f.signal = sig;
    f.timed_out = timed_out;
    f.cancelled = cancelled;
    return classify_attempt(f, false).outcome;
  };
  EXPECT_EQ(verdict(0), AttemptOutcome::kDone);
  EXPECT_EQ(verdict(1), AttemptOutcome::kRetry);
  for (int c : {2, 3, 4, 5, 7, 126, 127}) EXPECT_EQ(verdict(c), AttemptOutcome::kFail) << c;
  EXPECT_EQ(verdict(6), AttemptOutcome::kRetry);
  EXPECT_EQ(verdict(137), AttemptOutcome::kRetry);
  EXPECT_EQ(verdict({}, SIGKILL), AttemptOutcome::kRetry);
  EXPECT_EQ(verdict(6, {}, true), AttemptOutcome::kFail);
  EXPECT_EQ(verdict(6, {}, false, true), AttemptOutcome::kCancelled);
  EXPECT_EQ(verdict(0, {}, false, true), AttemptOutcome::kDone);
}

}  // namespace
}  // namespace repro::runner
