// The queries the CLI uses, and the records they read back.
#include "store/queries.h"

#include <gtest/gtest.h>

#include "base/util/errors.h"
#include "store/records.h"
#include "tests/store/store_fixture.h"

namespace repro::test {
namespace {

using runner::Store;
using runner::TaskKind;
using runner::TaskState;

TEST(Queries, RunsOfAnExperimentInMatrixOrderWithTaskCountsByState) {
  TempDir dir;
  Store store(dir.file("repro.db"));
  runner::put_experiment(store, {"table3", "experiments/table3.yaml", std::string(64, '0')});
  runner::put_experiment(store, {"other", "experiments/other.yaml", std::string(64, '1')});
  // Put in reverse order: the query sorts by position.
  for (int i = 2; i >= 0; --i) {
    const std::string run = "run" + std::to_string(i);
    runner::put_run(store, {run, "table3", "{\"i\":" + std::to_string(i) + "}", i, "{}", "/runs/" + run});
  }
  runner::put_run(store, {"run9", "other", "{}", 0, "{}", "/runs/run9"});
  runner::put_run(store, {"run1", "other", "{}", 1, "{}", "/runs/run1"});  // shared with table3
  runner::put_task(store, {"r0.train", "run0", TaskKind::kTrain, "{}"});
  runner::put_task(store, {"r0.sample", "run0", TaskKind::kSample, "{}"});
  runner::put_task(store, {"r0.eval", "run0", TaskKind::kEval, "{}"});
  runner::put_task(store, {"r1.train", "run1", TaskKind::kTrain, "{}"});
  runner::put_task(store, {"r1.sample", "run1", TaskKind::kSample, "{}"});
  runner::set_task_state(store, "r0.train", TaskState::kDone);
  runner::set_task_state(store, "r0.sample", TaskState::kRunning);
  runner::set_task_state(store, "r1.train", TaskState::kFailed);
  runner::set_task_state(store, "r1.sample", TaskState::kCancelled);
  runner::set_run_status(store, "run0", TaskState::kRunning);

  const auto runs = runner::runs_of_experiment(store, "table3");
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_EQ(runs[0].run_id, "run0");
  EXPECT_EQ(runs[1].run_id, "run1");
  EXPECT_EQ(runs[2].run_id, "run2");
  EXPECT_EQ(runs[0].axes, "{\"i\":0}");
  EXPECT_EQ(runs[0].status, TaskState::kRunning);
  EXPECT_EQ(runs[0].tasks.done, 1);
  EXPECT_EQ(runs[0].tasks.running, 1);
  EXPECT_EQ(runs[0].tasks.pending, 1);
  EXPECT_EQ(runs[0].tasks.total(), 3);
  EXPECT_EQ(runs[1].tasks.failed, 1);
  EXPECT_EQ(runs[1].tasks.cancelled, 1);
  EXPECT_EQ(runs[1].tasks.total(), 2);
  EXPECT_EQ(runs[2].tasks.total(), 0);  // a run without tasks still shows
  EXPECT_EQ(runs[2].run_dir, "/runs/run2");

  const auto other = runner::runs_of_experiment(store, "other");
  ASSERT_EQ(other.size(), 2u);
  EXPECT_EQ(other[1].run_id, "run1");
  EXPECT_EQ(other[1].tasks.total(), 2);
  EXPECT_TRUE(runner::runs_of_experiment(store, "missing").empty());

  const auto tasks = runner::tasks_of_run(store, "run0");
  ASSERT_EQ(tasks.size(), 3u);
  EXPECT_EQ(tasks[0].kind, TaskKind::kTrain);
  EXPECT_EQ(tasks[1].task_id, "r0.sample");
  EXPECT_EQ(tasks[2].kind, TaskKind::kEval);
  EXPECT_EQ(tasks[1].state, TaskState::kRunning);
}

// `repro status` in four queries: the same content as runs_of_experiment, then per run
// results_of_run and tasks_of_run, per task latest_metrics and attempts_of_task.
TEST(Queries, StatusOfAnExperimentAsThePerTaskQueriesSeeIt) {
  TempDir dir;
  Store store(dir.file("repro.db"));
  runner::put_experiment(store, {"table3", "experiments/table3.yaml", std::string(64, '0')});
  runner::put_experiment(store, {"other", "experiments/other.yaml", std::string(64, '1')});
  for (int i = 1; i >= 0; --i) {
    const std::string run = "run" + std::to_string(i);
    runner::put_run(store, {run, "table3", "{\"i\":" + std::to_string(i) + "}", i, "{}", "/runs/" + run});
  }
  runner::put_run(store, {"run9", "other", "{}", 0, "{}", "/runs/run9"});
  // Put out of kind order, and with states that sort before the earlier tasks in tasks_by_run.
  runner::put_task(store, {"r1.train", "run1", TaskKind::kTrain, "{}"});
  runner::put_task(store, {"r0.train", "run0", TaskKind::kTrain, "{}"});
  runner::put_task(store, {"r0.sample", "run0", TaskKind::kSample, "{}"});
  runner::put_task(store, {"r0.eval", "run0", TaskKind::kEval, "{}"});
  runner::put_task(store, {"r9.train", "run9", TaskKind::kTrain, "{}"});
  runner::set_task_state(store, "r0.train", TaskState::kRunning);
  runner::set_task_state(store, "r0.eval", TaskState::kDone);
  store.db().exec(
      "INSERT INTO metrics (task_id, name, step, value, seq) VALUES "
      "('r0.train', 'loss', 10, 0.5, 1), ('r0.train', 'loss', 20, 0.25, 2), ('r0.train', 'grad_norm', 30, 9, 3), "
      "('r9.train', 'loss', 5, 1.0, 1)");
  runner::put_result(store, {"res.b", "run0", "r0.eval", "sfid", 4.5, "{}"});
  runner::put_result(store, {"res.a", "run0", "r0.eval", "fid", 3.1, "{}"});
  runner::put_result(store, {"res.c", "run0", "", "fid", 7.0, "{}"});  // no task: not shown
  runner::AttemptStart start;
  start.task_id = "r1.train";
  start.log_path = "/runs/run1/logs/1.log";
  runner::begin_attempt(store, start);
  runner::end_attempt(store, "r1.train", 1, {1, "", std::nullopt});
  start.log_path = "/runs/run1/logs/2.log";
  runner::begin_attempt(store, start);
  runner::end_attempt(store, "r1.train", 2, {std::nullopt, "timeout after 5 s", std::nullopt});
  runner::set_task_state(store, "r1.train", TaskState::kFailed);

  const auto status = runner::status_of_experiment(store, "table3");
  ASSERT_EQ(status.size(), 2u);
  EXPECT_TRUE(runner::status_of_experiment(store, "missing").empty());
  const auto runs = runner::runs_of_experiment(store, "table3");
  for (size_t i = 0; i < runs.size(); ++i) {
    const auto& r = status[i].run;
    EXPECT_EQ(r.run_id, runs[i].run_id);
    EXPECT_EQ(r.axes, runs[i].axes);
    EXPECT_EQ(r.position, runs[i].position);
    EXPECT_EQ(r.run_dir, runs[i].run_dir);
    EXPECT_EQ(r.status, runs[i].status);
    EXPECT_EQ(r.tasks.pending, runs[i].tasks.pending);
    EXPECT_EQ(r.tasks.running, runs[i].tasks.running);
    EXPECT_EQ(r.tasks.done, runs[i].tasks.done);
    EXPECT_EQ(r.tasks.failed, runs[i].tasks.failed);
    const auto tasks = runner::tasks_of_run(store, r.run_id);
    ASSERT_EQ(status[i].tasks.size(), tasks.size());
    for (size_t k = 0; k < tasks.size(); ++k) {
      EXPECT_EQ(status[i].tasks[k].task_id, tasks[k].task_id);
      EXPECT_EQ(status[i].tasks[k].kind, tasks[k].kind);
      EXPECT_EQ(status[i].tasks[k].state, tasks[k].state);
      EXPECT_EQ(status[i].tasks[k].attempts, tasks[k].attempts);
    }
  }
  const auto& run0 = status[0].tasks;
  ASSERT_EQ(run0.size(), 3u);
  EXPECT_EQ(run0[0].task_id, "r0.train");
  ASSERT_TRUE(run0[0].loss.has_value());
  EXPECT_EQ(run0[0].loss->step, 20);
  EXPECT_DOUBLE_EQ(run0[0].loss->value, 0.25);
  EXPECT_FALSE(run0[1].loss.has_value());
  EXPECT_TRUE(run0[0].results.empty());
  const std::vector<std::pair<std::string, double>> results = {{"fid", 3.1}, {"sfid", 4.5}};  // result id order
  EXPECT_EQ(run0[2].results, results);
  EXPECT_FALSE(run0[2].last_failed.has_value());
  const auto& run1 = status[1].tasks;
  ASSERT_EQ(run1.size(), 1u);
  EXPECT_EQ(run1[0].attempts, 2);
  ASSERT_TRUE(run1[0].last_failed.has_value());
  EXPECT_EQ(run1[0].last_failed->attempt, 2);
  EXPECT_EQ(run1[0].last_failed->reason, "timeout after 5 s");
  EXPECT_EQ(run1[0].last_failed->log_path, "/runs/run1/logs/2.log");
  EXPECT_FALSE(run1[0].loss.has_value());
}

TEST(Queries, ExperimentNamesOldestFirst) {
  TempDir dir;
  FakeClock clock;
  Store store(dir.file("repro.db"), options_with(&clock));
  EXPECT_TRUE(runner::experiment_names(store).empty());
  runner::put_experiment(store, {"zeta", "zeta.yaml", std::string(64, '0')});
  clock.now += 1;
  runner::put_experiment(store, {"alpha", "alpha.yaml", std::string(64, '0')});
  clock.now += 1;
  runner::put_experiment(store, {"zeta", "zeta.yaml", std::string(64, '1')});  // changed: keeps its place
  EXPECT_EQ(runner::experiment_names(store), (std::vector<std::string>{"zeta", "alpha"}));
}

TEST(Queries, ExperimentFileChangesUpdateItsHash) {
  TempDir dir;
  FakeClock clock;
  Store store(dir.file("repro.db"), options_with(&clock));
  runner::put_experiment(store, {"e", "e.yaml", "aa"});
  clock.now += 10;
  runner::put_experiment(store, {"e", "e.yaml", "aa"});
  EXPECT_EQ(store.db().execAndGet("SELECT updated - created FROM experiments").getDouble(), 0);
  runner::put_experiment(store, {"e", "e.yaml", "bb"});
  EXPECT_EQ(store.db().execAndGet("SELECT file_sha256 FROM experiments").getString(), "bb");
  EXPECT_EQ(store.db().execAndGet("SELECT updated - created FROM experiments").getDouble(), 10);
}

TEST(Queries, LatestMetricPerNameIsTheValueAtTheHighestStep) {
  TempDir dir;
  Store store(dir.file("repro.db"));
  put_train_task(store, "run1", "task1");
  put_train_task(store, "run2", "task2", 1);
  store.db().exec(
      "INSERT INTO metrics (task_id, name, step, value, seq) VALUES "
      "('task1', 'loss', 100, 0.9, 1), ('task1', 'loss', 300, 0.3, 3), ('task1', 'loss', 200, 0.5, 2), "
      "('task1', 'grad_norm', 100, 4.0, 1), ('task2', 'loss', 900, 0.1, 1)");
  const auto latest = runner::latest_metrics(store, "task1");
  ASSERT_EQ(latest.size(), 2u);
  EXPECT_EQ(latest[0].name, "grad_norm");
  EXPECT_EQ(latest[0].step, 100);
  EXPECT_EQ(latest[1].name, "loss");
  EXPECT_EQ(latest[1].step, 300);
  EXPECT_DOUBLE_EQ(latest[1].value, 0.3);
  const auto curve = runner::metric_curve(store, "task1", "loss");
  ASSERT_EQ(curve.size(), 3u);
  EXPECT_EQ(curve[1].step, 200);
  EXPECT_DOUBLE_EQ(curve[1].value, 0.5);
  EXPECT_TRUE(runner::latest_metrics(store, "nope").empty());
}

TEST(Queries, ResultsOfARun) {
  TempDir dir;
  Store store(dir.file("repro.db"));
  put_train_task(store, "run1", "task1");
  put_train_task(store, "run2", "task2", 1);
  runner::put_task(store, {"eval1", "run1", TaskKind::kEval, "{}"});
  const std::string recipe = R"({"features":"pt_inception-2015-12-05","ref":"abc"})";
  runner::put_result(store, {"res.b", "run1", "eval1", "sfid", 4.5, recipe});
  runner::put_result(store, {"res.b", "run1", "eval1", "fid", 2.9, recipe});
  runner::put_result(store, {"res.a", "run1", "", "fid", 3.1, recipe});
  runner::put_result(store, {"res.c", "run2", "", "fid", 7.0, recipe});
  runner::put_result(store, {"res.b", "run1", "eval1", "fid", 2.8, recipe});  // replaces
  const auto results = runner::results_of_run(store, "run1");
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0].row.result_id, "res.a");
  EXPECT_EQ(results[0].row.task_id, "");
  EXPECT_EQ(results[1].row.metric, "fid");
  EXPECT_DOUBLE_EQ(results[1].row.value, 2.8);
  EXPECT_EQ(results[1].row.task_id, "eval1");
  EXPECT_EQ(results[2].row.metric, "sfid");
  EXPECT_EQ(results[2].row.recipe, recipe);
  EXPECT_THROW(runner::put_result(store, {"r", "run1", "", "fid", 1, "not json"}), SQLite::Exception);
}

TEST(Queries, AttemptsOfATask) {
  TempDir dir;
  FakeClock clock;
  Store store(dir.file("repro.db"), options_with(&clock));
  put_train_task(store, "run1", "task1");
  runner::AttemptStart start;
  start.task_id = "task1";
  start.executor = runner::ExecutorKind::kSlurm;
  start.job_id = "1234_5";
  start.host = "node1";
  start.gpus = "0,1";
  start.log_path = "/runs/run1/logs/task1.1.log";
  EXPECT_EQ(runner::begin_attempt(store, start), 1);
  EXPECT_EQ(store.db().execAndGet("SELECT state FROM tasks").getString(), "running");
  clock.now += 60;
  runner::end_attempt(store, "task1", 1, {std::nullopt, "node failure", std::nullopt});
  start.executor = runner::ExecutorKind::kLocal;
  start.job_id = "4242";
  start.started = 5.0;
  EXPECT_EQ(runner::begin_attempt(store, start), 2);
  runner::end_attempt(store, "task1", 2, {0, "", 99.0});

  const auto attempts = runner::attempts_of_task(store, "task1");
  ASSERT_EQ(attempts.size(), 2u);
  EXPECT_EQ(attempts[0].attempt, 1);
  EXPECT_EQ(attempts[0].executor, runner::ExecutorKind::kSlurm);
  EXPECT_EQ(attempts[0].job_id, "1234_5");
  EXPECT_EQ(attempts[0].gpus, "0,1");
  EXPECT_DOUBLE_EQ(*attempts[0].ended - *attempts[0].started, 60);
  EXPECT_FALSE(attempts[0].exit_code.has_value());
  EXPECT_EQ(attempts[0].reason, "node failure");
  EXPECT_EQ(attempts[1].executor, runner::ExecutorKind::kLocal);
  EXPECT_EQ(*attempts[1].exit_code, 0);
  EXPECT_DOUBLE_EQ(*attempts[1].started, 5.0);
  EXPECT_DOUBLE_EQ(*attempts[1].ended, 99.0);
  EXPECT_EQ(store.db().execAndGet("SELECT attempts FROM tasks").getInt(), 2);

  EXPECT_THROW(runner::end_attempt(store, "task1", 3, {}), IoError);
  EXPECT_THROW(runner::begin_attempt(store, {"nope"}), IoError);
  EXPECT_TRUE(runner::attempts_of_task(store, "nope").empty());
}

TEST(Queries, ProvenanceAndArtifactsReplaceByKey) {
  TempDir dir;
  Store store(dir.file("repro.db"));
  put_train_task(store, "run1", "task1");
  runner::put_provenance(store, "run1", "", {{"git_commit", "abc"}, {"seed", "0"}});
  runner::put_provenance(store, "run1", "task1", {{"host", "node1"}});
  runner::put_provenance(store, "run1", "", {{"git_commit", "def"}});
  EXPECT_EQ(count_rows(store, "SELECT count(*) FROM provenance"), 3);
  EXPECT_EQ(
      store.db().execAndGet("SELECT value FROM provenance WHERE key = 'git_commit' AND task_id IS NULL").getString(),
      "def");
  EXPECT_THROW(store.db().exec("INSERT INTO provenance (run_id, key, value, recorded) VALUES ('run1', 'seed', '1', 0)"),
               SQLite::Exception);  // unique per (run, task or none, key)
  runner::put_artifact(store, {"task1", "samples/s.npz", "ff", 10});
  runner::put_artifact(store, {"task1", "samples/s.npz", "ee", std::nullopt});
  EXPECT_EQ(count_rows(store, "SELECT count(*) FROM artifacts WHERE sha256 = 'ee' AND bytes IS NULL"), 1);
}

}  // namespace
}  // namespace repro::test
