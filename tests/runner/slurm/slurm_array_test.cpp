// Slurm job arrays (SlurmExecutor::launch_batch) on the real one-node cluster: tasks launched
// together go out as one capped array whose elements are tracked, cancelled, requeued and adopted
// one by one as JOBID_INDEX; through the orchestrator, ready tasks share one array, at most the cap
// run at once, a failing element fails alone, and a restarted orchestrator adopts the elements.
// Concurrency is measured from the status files' start/end times; no assertion depends on speed
// beyond generous limits.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "runner/executor/slurm_executor.h"
#include "runner/orchestrate/orchestrator.h"
#include "store/queries.h"
#include "tests/runner/fake_project.h"
#include "tests/runner/slurm/killed_orchestrator.h"
#include "tests/runner/slurm/slurm_cluster.h"
#include "tests/runner/slurm/slurm_task_util.h"
#include "tests/support/fake_plan.h"
#include "tests/support/overlap.h"
#include "tests/support/test_support.h"

namespace repro::runner {
namespace {

namespace fs = std::filesystem;

// Its own fixture name: CTest runs these as `slurm_array`, beside `slurm_executor`.
class SlurmArrayTest : public test::SlurmTest {};

using test_slurm::shell_task;
using test_slurm::wait_all;
using test_slurm::wait_started;

SlurmExecutorOptions array_options(int cap) {
  SlurmExecutorOptions o = test_slurm::quick_options();
  o.array_cap = cap;
  return o;
}

// The most jobs running at one moment, from their status files' start and end times.
int max_overlap(const std::vector<std::string>& log_paths) {
  std::vector<std::pair<double, double>> spans;
  for (const auto& p : log_paths) {
    const auto s = read_slurm_job_status(slurm_status_path(p));
    EXPECT_TRUE(s && s->start && s->end) << p;
    if (s && s->start && s->end) spans.emplace_back(*s->start, *s->end);
  }
  return test::max_overlap(spans);
}

// "123_4" -> {"123", "4"}.
std::pair<std::string, std::string> split_element(const std::string& job_id) {
  const auto us = job_id.find('_');
  if (us == std::string::npos) return {job_id, ""};
  return {job_id.substr(0, us), job_id.substr(us + 1)};
}

TEST(SlurmArrayIds, ParsesJobsElementsAndPendingRanges) {
  auto ids = [](const std::string& f) { return parse_slurm_queue_id(f).ids; };
  EXPECT_EQ(ids("1234"), std::vector<std::string>{"1234"});
  EXPECT_EQ(ids(" 1234_5 "), std::vector<std::string>{"1234_5"});
  EXPECT_EQ(ids("1234_[6-9%2]"), (std::vector<std::string>{"1234_6", "1234_7", "1234_8", "1234_9"}));
  EXPECT_EQ(ids("7_[0,3,5-6]"), (std::vector<std::string>{"7_0", "7_3", "7_5", "7_6"}));
  EXPECT_EQ(parse_slurm_queue_id("7_[2-4%2]").base, "7");
  EXPECT_FALSE(parse_slurm_queue_id("7_[2-4%2]").truncated);
  const SlurmQueueId cut = parse_slurm_queue_id("10_[0,3,6,12,1");  // squeue past SLURM_BITSTR_LEN
  EXPECT_TRUE(cut.truncated);
  EXPECT_EQ(cut.ids, (std::vector<std::string>{"10_0", "10_3", "10_6", "10_12"}));
  for (const char* bad : {"", "abc", "12_", "12_x", "12_[3-1]", "12_[a]", "12;rm"})
    EXPECT_TRUE(ids(bad).empty()) << bad;
}

TEST(SlurmArrayIds, SqueueRowsOfElementsWinOverTheirPendingRange) {
  const SlurmQueue q = parse_squeue_output(
      "12_[3-5%2]|repro-a+2.x|PENDING|0|(JobArrayTaskLimit)|\n"
      "12_4|repro-a+2.x|RUNNING|0|None|\n"
      "12_3 |repro-a+2.x|COMPLETED|256|None|\n"
      "13|repro-b|FAILED|256|a|reason|with|bars|\n"
      "14_[0,2,7|repro-c|PENDING|0|Priority|\n"
      "not a row\n");
  EXPECT_EQ(q.rows.at("12_3").state, "COMPLETED");  // its own row, after the range
  EXPECT_EQ(q.rows.at("12_4").state, "RUNNING");
  EXPECT_EQ(q.rows.at("12_5").state, "PENDING");
  EXPECT_EQ(q.rows.at("13").raw_exit, 256);
  EXPECT_EQ(q.rows.at("13").reason, "a|reason|with|bars");
  EXPECT_EQ(q.rows.count("14_2"), 1u);
  EXPECT_EQ(q.rows.count("14_7"), 0u);  // may have lost digits
  EXPECT_EQ(q.unsure, std::set<std::string>{"14"});
  EXPECT_EQ(q.rows.size(), 6u);
}

TEST(SlurmArrayIds, SbatchJobIdOrItsError) {
  EXPECT_EQ(parse_sbatch_job_id({0, "4711;cluster\n", ""}, "task t"), "4711");
  const std::string message = test::error_message([] { parse_sbatch_job_id({1, "", "no partition\n"}, "task t"); });
  EXPECT_NE(message.find("sbatch failed for task t (exit 1): no partition"), std::string::npos) << message;
  EXPECT_NE(test::error_message([] {
              parse_sbatch_job_id({0, "Submitted", ""}, "task t");
            }).find("got 'Submitted'"),
            std::string::npos);
}

TEST(SlurmArrayIds, ArrayFilesAndScript) {
  EXPECT_EQ(slurm_array_marker_path("/a/t.3.log"), "/a/t.3.array");
  EXPECT_EQ(slurm_array_manifest_path("/a/t.3.log"), "/a/t.3.array-manifest");
  EXPECT_EQ(slurm_array_script_path("/a/t.3.log"), "/a/t.3.array-sbatch");
  const std::string s = slurm_array_script("/p/it's $(x)/m");
  EXPECT_NE(s.find("repro_manifest='/p/it'\\''s $(x)/m'\n"), std::string::npos) << s;
  EXPECT_NE(s.find("exec /bin/bash -- \"$repro_script\""), std::string::npos) << s;
}

TEST_F(SlurmArrayTest, ArrayRunsCappedElementsWithTheirOwnExitCodes) {
  test::TempDir dir;
  const std::string d = dir.path().string();
  SlurmExecutor ex(array_options(2));
  std::vector<LaunchRequest> reqs;
  for (int i = 0; i < 5; ++i)
    reqs.push_back(
        shell_task(d, "t" + std::to_string(i),
                   "sleep 1; echo \"element $SLURM_ARRAY_TASK_ID\"; exit " + std::to_string(i == 3 ? 3 : 0)));
  reqs[4].argv.push_back("sh");
  reqs[4].argv.push_back("it's $(touch PWNED)");  // a hostile argument reaches the task as it is
  reqs[4].argv[2] = "sleep 1; printf '%s' \"$1\" > arg4.txt";
  const auto results = ex.launch_batch(reqs);
  ASSERT_EQ(results.size(), 5u);
  std::set<std::string> bases, indices, keys;
  for (size_t i = 0; i < results.size(); ++i) {
    ASSERT_TRUE(results[i].launched) << i << ": " << results[i].error;
    const auto [base, index] = split_element(results[i].launched->job_id);
    bases.insert(base);
    indices.insert(index);
    keys.insert(reqs[i].key);
    EXPECT_EQ(index, std::to_string(i));
  }
  EXPECT_EQ(bases.size(), 1u) << "one sbatch: every element shares the array's id";
  EXPECT_EQ(indices.size(), 5u);
  EXPECT_EQ(ex.running(), 5);
  EXPECT_EQ(ex.job_ids().at("t2"), *bases.begin() + "_2");

  auto got = wait_all(ex, keys);
  ASSERT_EQ(got.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    const Finished& f = got["t" + std::to_string(i)];
    EXPECT_EQ(f.exit_code, i == 3 ? 3 : 0) << i;
    EXPECT_FALSE(f.signal || f.cancelled || f.timed_out) << i;
    const auto st = read_slurm_job_status(slurm_status_path(reqs[i].log_path));
    ASSERT_TRUE(st) << i;
    EXPECT_EQ(st->job_id, *bases.begin() + "_" + std::to_string(i)) << "the status file names the element";
    EXPECT_EQ(st->exit, i == 3 ? 3 : 0);
  }
  EXPECT_NE(test::read_text(reqs[1].log_path).find("element 1"), std::string::npos)
      << test::read_text(reqs[1].log_path);
  EXPECT_EQ(test::read_text(d + "/arg4.txt"), "it's $(touch PWNED)");
  EXPECT_FALSE(fs::exists(d + "/PWNED"));
  std::vector<std::string> logs;
  for (const auto& r : reqs) logs.push_back(r.log_path);
  EXPECT_LE(max_overlap(logs), 2) << "--array=0-4%2";
  EXPECT_EQ(ex.running(), 0);
}

TEST_F(SlurmArrayTest, NoArraysAndLoneTasksArePlainJobs) {
  test::TempDir dir;
  const std::string d = dir.path().string();
  auto o = array_options(2);
  o.arrays = false;
  SlurmExecutor ex(o);
  const auto two = ex.launch_batch({shell_task(d, "a", "true"), shell_task(d, "b", "true")});
  ASSERT_TRUE(two[0].launched && two[1].launched);
  EXPECT_EQ(two[0].launched->job_id.find('_'), std::string::npos);
  EXPECT_NE(two[0].launched->job_id, two[1].launched->job_id);
  SlurmExecutor with_arrays(array_options(2));
  auto gpu = shell_task(d, "g", "true");
  gpu.slot.gpus = 1;  // does not fit (no GPUs here): left out, so c is alone and a plain job
  auto cpu = shell_task(d, "c", "true");
  with_arrays.launch_batch({gpu, cpu});
  EXPECT_EQ(with_arrays.job_ids().count("g"), 0u);
  ASSERT_EQ(with_arrays.job_ids().count("c"), 1u);
  EXPECT_EQ(with_arrays.job_ids().at("c").find('_'), std::string::npos);
  wait_all(ex, {"a", "b"});
  wait_all(with_arrays, {"c"});
}

TEST_F(SlurmArrayTest, InFlightCapLimitsWhatABatchTakes) {
  test::TempDir dir;
  const std::string d = dir.path().string();
  auto o = array_options(0);  // cap: the in-flight cap
  o.max_in_flight = 2;
  SlurmExecutor ex(o);
  const auto r = ex.launch_batch({shell_task(d, "a", "true"), shell_task(d, "b", "true"), shell_task(d, "c", "true")});
  ASSERT_TRUE(r[0].launched && r[1].launched);
  EXPECT_FALSE(r[2].launched);
  EXPECT_TRUE(r[2].error.empty()) << "left for later, not failed";
  EXPECT_EQ(split_element(r[0].launched->job_id).first, split_element(r[1].launched->job_id).first);
  wait_all(ex, {"a", "b"});
}

TEST_F(SlurmArrayTest, CancelOfOneArrayElement) {
  test::TempDir dir;
  const std::string d = dir.path().string();
  SlurmExecutor ex(array_options(2));
  std::vector<LaunchRequest> reqs;
  for (int i = 0; i < 4; ++i)
    reqs.push_back(shell_task(d, "e" + std::to_string(i), "trap 'echo stopping; exit 6' TERM; sleep 60 & wait $!"));
  for (const auto& r : ex.launch_batch(reqs)) ASSERT_TRUE(r.launched) << r.error;
  ASSERT_TRUE(wait_started(reqs[0].log_path) && wait_started(reqs[1].log_path));
  for (int i = 0; i < 3; ++i) {  // the executor sees 0 and 1 running (graceful cancel), 2 and 3 pending
    EXPECT_TRUE(ex.poll().empty());
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  ex.cancel("e1", false);  // running: scancel --full --signal=TERM JOBID_1
  ex.cancel("e3", false);  // pending: scancel JOBID_3 (removed from the array's range)
  auto got = wait_all(ex, {"e1", "e3"}, 40);
  for (const auto& [k, f] : got) EXPECT_TRUE(k == "e1" || k == "e3") << k << " ended too";
  EXPECT_TRUE(got["e1"].cancelled);
  EXPECT_EQ(got["e1"].exit_code, 6);
  EXPECT_NE(test::read_text(reqs[1].log_path).find("stopping"), std::string::npos);
  EXPECT_TRUE(got["e3"].cancelled);
  EXPECT_EQ(test::read_text(reqs[3].log_path), "") << "a cancelled pending element never runs";
  // The others go on: e1's slot goes to e2.
  EXPECT_TRUE(wait_started(reqs[2].log_path));
  EXPECT_FALSE(read_slurm_job_status(slurm_status_path(reqs[0].log_path))->end);
  EXPECT_EQ(ex.running(), 2);
  ex.stop_all(true);
  got = wait_all(ex, {"e0", "e2"}, 40);
  EXPECT_TRUE(got["e0"].cancelled && got["e2"].cancelled);
}

TEST_F(SlurmArrayTest, RequeuedArrayElementStaysRunning) {
  test::TempDir dir;
  const std::string d = dir.path().string();
  SlurmExecutor ex(array_options(2));
  const auto r0 = shell_task(
      d, "q0",
      "trap 'exit 6' TERM; echo \"run ${SLURM_RESTART_COUNT:-0}\"; [ \"${SLURM_RESTART_COUNT:-0}\" -ge 1 ] && "
      "exit 0; sleep 60 & wait $!");
  const auto r1 = shell_task(d, "q1", "exit 0");
  const auto res = ex.launch_batch({r0, r1});
  ASSERT_TRUE(res[0].launched && res[1].launched);
  const std::string id = res[0].launched->job_id;
  ASSERT_TRUE(wait_started(r0.log_path));
  // Requeue once the task has run a moment: a job requeued and released at once (StartTime=now
  // below) in its first second fails its second start on this Slurm (22.05; slurmctld logs
  // WEXITSTATUS 1, the script never runs again). A real requeue is held about 2 minutes.
  test::wait_until([&] { return test::read_text(r0.log_path).find("run 0") != std::string::npos; }, 20, 100);
  std::this_thread::sleep_for(std::chrono::seconds(1));
  std::string out;
  ASSERT_EQ(test::run_command("scontrol requeue " + id, &out), 0) << out;
  std::map<std::string, Finished> got;
  for (int i = 0; i < 100; ++i) {  // pending again (held ~2 minutes): release it
    for (const auto& f : ex.poll()) got[f.key] = f;
    test::run_command("squeue -h --states=all -o %T -j " + id, &out);
    if (out.find("PENDING") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(got.count("q0"), 0u) << "reported finished while requeued";
  // Let the first run's teardown on the node finish before the second start (a release at once
  // failed that start now and then under load).
  std::this_thread::sleep_for(std::chrono::seconds(2));
  ASSERT_EQ(test::run_command("scontrol update JobId=" + id + " StartTime=now", &out), 0) << out;
  for (const auto& [k, f] : wait_all(ex, {"q0", "q1"})) got[k] = f;
  if (got["q0"].exit_code != 0) {  // what Slurm did
    test::run_command("squeue -h --states=all -o '%i %A %T %r' -j " + id.substr(0, id.find('_')) + "; grep -F 'JobId=" +
                          id + "' " + test::SlurmCluster::get().dir() + "/log/slurmctld.log | tail -40",
                      &out);
    ADD_FAILURE() << "q0 signal " << got["q0"].signal.value_or(-1) << "; status file:\n"
                  << test::read_text(slurm_status_path(r0.log_path)) << "squeue and log:\n"
                  << out;
  }
  EXPECT_EQ(got["q0"].exit_code, 0);
  EXPECT_EQ(got["q1"].exit_code, 0);
  const auto st = read_slurm_job_status(slurm_status_path(r0.log_path));
  ASSERT_TRUE(st);
  EXPECT_EQ(st->restarts, 1);
  EXPECT_EQ(st->job_id, id);
  const std::string log = test::read_text(r0.log_path);
  EXPECT_NE(log.find("run 0"), std::string::npos) << log;
  EXPECT_NE(log.find("run 1"), std::string::npos) << log;
}

TEST_F(SlurmArrayTest, NewExecutorAdoptsRunningAndPendingElements) {
  test::TempDir dir;
  const std::string d = dir.path().string();
  std::vector<LaunchRequest> reqs;
  for (int i = 0; i < 3; ++i)
    reqs.push_back(shell_task(d, "x" + std::to_string(i), "sleep 2; exit " + std::to_string(10 + i)));
  std::vector<std::string> ids;
  {
    SlurmExecutor first(array_options(1));  // one at a time: 1 and 2 wait in the pending range
    for (const auto& r : first.launch_batch(reqs)) {
      ASSERT_TRUE(r.launched) << r.error;
      ids.push_back(r.launched->job_id);
    }
    ASSERT_TRUE(wait_started(reqs[0].log_path));
  }  // the orchestrator is gone; the array runs on
  SlurmExecutor second(array_options(1));
  EXPECT_FALSE(second.adopt("x1", ids[0], reqs[1].log_path)) << "x1's marker says index 1";
  EXPECT_FALSE(second.adopt("x0", split_element(ids[0]).first + "_7", reqs[0].log_path));
  EXPECT_FALSE(second.adopt("x9", ids[0], d + "/x9.1.log")) << "no marker";
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(second.adopt(reqs[i].key, ids[i], reqs[i].log_path)) << i;
  EXPECT_EQ(second.running(), 3);
  const auto got = wait_all(second, {"x0", "x1", "x2"});
  for (int i = 0; i < 3; ++i) EXPECT_EQ(got.at("x" + std::to_string(i)).exit_code, 10 + i);
  std::vector<std::string> logs;
  for (const auto& r : reqs) logs.push_back(r.log_path);
  EXPECT_EQ(max_overlap(logs), 1);
}

// ---- through the orchestrator ----

Plan independent_plan(int n) {
  Plan p;
  p.experiment = {"fake-array", "fake.yaml", std::string(64, '0')};
  for (int i = 0; i < n; ++i) {
    const std::string r = "r" + std::to_string(i);
    p.runs.push_back({r, {{"cell", r}}, i, "{\"seed\":" + std::to_string(i) + "}"});
    p.tasks.push_back(test::task_spec(r + "-train", r, "train", {}, R"({"iterations":10})"));
  }
  return p;
}

SlurmExecutorOptions orchestrator_array_options() {
  SlurmExecutorOptions e;
  e.poll_interval_s = 0.3;
  e.heartbeat_s = 1;
  e.array_cap = 2;
  return e;
}

TEST_F(SlurmArrayTest, OrchestratorSubmitsReadyTasksAsOneCappedArray) {
  test::FakeProject px(0.1, 0.2);
  px.set("default.sleep", "1");
  px.set("r3-train.codes", "3\n");  // a file I/O error: failed, not retried
  const Plan plan = independent_plan(5);
  Store store(px.db);
  SlurmExecutor ex(orchestrator_array_options());
  const auto s = Orchestrator(store, ex, px.options()).run(plan);
  EXPECT_EQ(s.done, 4);
  EXPECT_EQ(s.failed, 1);
  std::set<std::string> bases, indices;
  std::vector<std::string> logs;
  for (const auto& t : plan.tasks) {
    const auto att = attempts_of_task(store, t.task_id);
    ASSERT_EQ(att.size(), 1u) << t.task_id;
    EXPECT_EQ(att[0].executor, ExecutorKind::kSlurm);
    const auto [base, index] = split_element(att[0].job_id);
    bases.insert(base);
    indices.insert(index);
    logs.push_back(att[0].log_path);
    EXPECT_EQ(att[0].exit_code, t.task_id == "r3-train" ? 3 : 0) << t.task_id;
  }
  EXPECT_EQ(bases.size(), 1u) << "one sbatch for the 5 ready tasks";
  EXPECT_EQ(indices, (std::set<std::string>{"0", "1", "2", "3", "4"}));
  for (const auto& o : s.tasks)
    EXPECT_EQ(o.state, o.task_id == "r3-train" ? TaskState::kFailed : TaskState::kDone) << o.task_id;
  EXPECT_LE(max_overlap(logs), 2) << "array cap 2";
  for (const auto& [id, n] : test::read_completed(px.ctl)) EXPECT_EQ(n, 1) << id;
}

TEST_F(SlurmArrayTest, RestartedOrchestratorAdoptsArrayElements) {
  test::FakeProject px(0.1, 0.2);
  px.set("default.sleep", "3");
  const Plan plan = independent_plan(4);
  // The first orchestrator dies by SIGKILL once two elements run (two more wait in the array).
  ASSERT_TRUE(test_slurm::kill_orchestrator_once_started(px, plan, orchestrator_array_options(), 2, 40));

  Store store(px.db);
  SlurmExecutor ex(orchestrator_array_options());
  const auto s = Orchestrator(store, ex, px.options()).run(plan);
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.done, 4);
  std::set<std::string> bases;
  for (const auto& t : plan.tasks) {
    const auto att = attempts_of_task(store, t.task_id);
    ASSERT_EQ(att.size(), 1u) << t.task_id << ": adopted, not relaunched";
    EXPECT_EQ(att[0].exit_code, 0);
    EXPECT_TRUE(att[0].reason.empty()) << att[0].reason;
    bases.insert(split_element(att[0].job_id).first);
  }
  EXPECT_EQ(bases.size(), 1u);
  EXPECT_EQ(test::read_completed(px.ctl).size(), 4u);
  for (const auto& [id, n] : test::read_completed(px.ctl)) EXPECT_EQ(n, 1) << id << " ran " << n << " times";
  int terms = 0;
  for (const auto& t : test::read_trace(px.ctl)) terms += t.what == "term";
  EXPECT_EQ(terms, 0);
}

}  // namespace
}  // namespace repro::runner
