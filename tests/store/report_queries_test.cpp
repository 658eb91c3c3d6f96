// The reads of `repro report` and `repro compare` (store/report_queries.h) against hand-built rows.
#include "store/report_queries.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "store/records.h"
#include "tests/store/store_fixture.h"

namespace repro::test {
namespace {

using runner::Store;
using runner::TaskKind;

TEST(ReportQueries, ExperimentRowsOldestFirstThenByName) {
  TempDir dir;
  FakeClock clock;
  Store store(dir.file("repro.db"), options_with(&clock));
  runner::put_experiment(store, {"table3", "experiments/table3.yaml", "aa"});
  clock.now += 10;
  runner::put_experiment(store, {"zeta", "z.yaml", "zz"});
  runner::put_experiment(store, {"alpha", "a.yaml", "11"});  // same created as zeta: by name
  clock.now += 10;
  runner::put_experiment(store, {"table3", "experiments/table3.yaml", "bb"});  // keeps its created

  const auto rows = runner::experiment_rows(store);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].name, "table3");
  EXPECT_EQ(rows[0].file, "experiments/table3.yaml");
  EXPECT_EQ(rows[0].file_sha256, "bb");
  EXPECT_EQ(rows[1].name, "alpha");
  EXPECT_EQ(rows[1].file, "a.yaml");
  EXPECT_EQ(rows[2].name, "zeta");
  EXPECT_EQ(rows[2].file_sha256, "zz");
}

TEST(ReportQueries, EmptyStoreAndUnknownExperiment) {
  TempDir dir;
  Store store(dir.file("repro.db"));
  EXPECT_TRUE(runner::experiment_rows(store).empty());
  EXPECT_TRUE(runner::train_loss_of_run(store, "nope").empty());
  EXPECT_TRUE(runner::report_runs(store, "nope").empty());
  EXPECT_TRUE(runner::provenance_of_experiment(store, "nope").empty());
  EXPECT_TRUE(runner::finished_attempts_of_experiment(store, "nope").empty());
  EXPECT_TRUE(runner::results_of_experiment(store, "nope").empty());
}

TEST(ReportQueries, TrainLossOfARunInStepThenSeqOrder) {
  TempDir dir;
  Store store(dir.file("repro.db"));
  put_train_task(store, "run1", "t1");
  runner::put_task(store, {"t2", "run1", TaskKind::kTrain, "{}"});
  runner::put_task(store, {"s1", "run1", TaskKind::kSample, "{}"});
  put_train_task(store, "run2", "u1");
  store.db().exec(
      "INSERT INTO metrics (task_id, name, step, value, seq) VALUES "
      "('t1', 'loss', 20, 0.25, 4), ('t1', 'loss', 10, 0.5, 2), ('t2', 'loss', 10, 0.4, 1), "
      "('t1', 'mse', 10, 0.1, 3), ('s1', 'loss', 30, 9, 1), ('u1', 'loss', 10, 7, 1)");

  const auto loss = runner::train_loss_of_run(store, "run1");
  ASSERT_EQ(loss.size(), 3u);  // not mse, not the sample task's, not run2's
  EXPECT_EQ(loss[0].name, "loss");
  EXPECT_EQ(loss[0].step, 10);
  EXPECT_EQ(loss[0].value, 0.4);  // step 10 of t2 (seq 1) before that of t1 (seq 2)
  EXPECT_EQ(loss[1].step, 10);
  EXPECT_EQ(loss[1].value, 0.5);
  EXPECT_EQ(loss[2].step, 20);
  EXPECT_EQ(loss[2].value, 0.25);
}

TEST(ReportQueries, ReportRunsInMatrixOrderWithTheConfigSeed) {
  TempDir dir;
  Store store(dir.file("repro.db"));
  runner::put_experiment(store, {"exp", "exp.yaml", "aa"});
  runner::put_experiment(store, {"other", "other.yaml", "bb"});
  runner::put_run(store, {"runB", "exp", R"({"method":"ip"})", 1, R"({"train":{"seed":7}})", "/runs/runB"});
  runner::put_run(store, {"runA", "exp", R"({"method":"adm"})", 0, R"({"train":{"lr":0.0001}})", "/runs/runA"});
  runner::put_run(store, {"runC", "other", "{}", 0, R"({"train":{"seed":"s"}})", "/runs/runC"});

  const auto runs = runner::report_runs(store, "exp");
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].run_id, "runA");
  EXPECT_EQ(runs[0].position, 0);
  EXPECT_EQ(runs[0].axes, R"({"method":"adm"})");
  EXPECT_EQ(runs[0].seed, "");  // no train.seed
  EXPECT_EQ(runs[1].run_id, "runB");
  EXPECT_EQ(runs[1].position, 1);
  EXPECT_EQ(runs[1].seed, "7");
  ASSERT_EQ(runner::report_runs(store, "other").size(), 1u);
  EXPECT_EQ(runner::report_runs(store, "other")[0].seed, "s");
}

TEST(ReportQueries, ProvenanceOfAnExperimentsRunsByRunTaskAndKey) {
  TempDir dir;
  Store store(dir.file("repro.db"));
  put_train_task(store, "run2", "r2.train");
  put_train_task(store, "run1", "r1.train");
  runner::put_task(store, {"r1.eval", "run1", TaskKind::kEval, "{}"});
  put_train_task(store, "run9", "r9.train", 0, "other");
  runner::put_provenance(store, "run1", "r1.train", {{"device", "cuda:0"}});
  runner::put_provenance(store, "run1", "", {{"git_commit", "abc"}, {"cuda", "12.1"}});
  runner::put_provenance(store, "run1", "r1.eval", {{"device", "cpu"}});
  runner::put_provenance(store, "run2", "", {{"git_commit", "def"}});
  runner::put_provenance(store, "run9", "", {{"git_commit", "xyz"}});

  const auto rows = runner::provenance_of_experiment(store, "exp");
  ASSERT_EQ(rows.size(), 5u);  // not run9's
  auto expect_row = [&](size_t i, const std::string& run, const std::string& task, const std::string& kind,
                        const std::string& key, const std::string& value) {
    SCOPED_TRACE(i);
    EXPECT_EQ(rows[i].run_id, run);
    EXPECT_EQ(rows[i].task_id, task);
    EXPECT_EQ(rows[i].kind, kind);
    EXPECT_EQ(rows[i].key, key);
    EXPECT_EQ(rows[i].value, value);
  };
  expect_row(0, "run1", "", "", "cuda", "12.1");
  expect_row(1, "run1", "", "", "git_commit", "abc");
  expect_row(2, "run1", "r1.eval", "eval", "device", "cpu");
  expect_row(3, "run1", "r1.train", "train", "device", "cuda:0");
  expect_row(4, "run2", "", "", "git_commit", "def");
}

TEST(ReportQueries, FinishedAttemptsOnlyWithTheirGpus) {
  TempDir dir;
  Store store(dir.file("repro.db"));
  put_train_task(store, "run1", "t1");
  runner::put_task(store, {"t2", "run1", TaskKind::kEval, "{}"});
  put_train_task(store, "run9", "t9", 0, "other");
  runner::AttemptStart gpu;
  gpu.task_id = "t1";
  gpu.gpus = "0,1";
  gpu.started = 100;
  runner::end_attempt(store, "t1", runner::begin_attempt(store, gpu), {0, "", 250.0});
  runner::AttemptStart cpu;
  cpu.task_id = "t2";
  cpu.started = 300;
  runner::end_attempt(store, "t2", runner::begin_attempt(store, cpu), {0, "", 310.0});
  runner::AttemptStart running;
  running.task_id = "t1";
  running.started = 400;
  runner::begin_attempt(store, running);  // no end: left out
  runner::AttemptStart other;
  other.task_id = "t9";
  other.started = 0;
  runner::end_attempt(store, "t9", runner::begin_attempt(store, other), {0, "", 1.0});

  auto spans = runner::finished_attempts_of_experiment(store, "exp");
  std::sort(spans.begin(), spans.end(), [](const auto& a, const auto& b) { return a.started < b.started; });
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_EQ(spans[0].run_id, "run1");
  EXPECT_EQ(spans[0].started, 100.0);
  EXPECT_EQ(spans[0].ended, 250.0);
  EXPECT_EQ(spans[0].gpus, "0,1");
  EXPECT_EQ(spans[1].started, 300.0);
  EXPECT_EQ(spans[1].ended, 310.0);
  EXPECT_EQ(spans[1].gpus, "");
}

TEST(ReportQueries, ResultsWithTheirEvalAndSampleTasks) {
  TempDir dir;
  Store store(dir.file("repro.db"));
  runner::put_experiment(store, {"exp", "exp.yaml", "aa"});
  runner::put_run(store, {"runB", "exp", R"({"method":"ip"})", 1, "{}", "/runs/runB"});
  runner::put_run(store, {"runA", "exp", R"({"method":"adm"})", 0, "{}", "/runs/runA"});
  runner::put_task(store, {"a.sample", "runA", TaskKind::kSample, R"({"steps":100})"});
  runner::put_task(store, {"a.eval", "runA", TaskKind::kEval, R"({"samples_of":"a.sample"})"});
  runner::put_task(store, {"b.eval", "runB", TaskKind::kEval, R"({"samples_of":"missing"})"});
  runner::put_result(store, {"b.res", "runB", "b.eval", "fid", 5.0, "{}"});
  runner::put_result(store, {"a.res", "runA", "a.eval", "sfid", 4.5, R"({"comparable_with_published":true})"});
  runner::put_result(store, {"a.res", "runA", "a.eval", "fid", 3.25, "{}"});
  runner::put_result(store, {"a.old", "runA", "", "fid", 9.0, "{}"});

  const auto results = runner::results_of_experiment(store, "exp");
  ASSERT_EQ(results.size(), 4u);
  // Matrix position, then result id, then metric.
  EXPECT_EQ(results[0].result_id, "a.old");
  EXPECT_EQ(results[0].eval_task, "");
  EXPECT_EQ(results[0].eval_spec, "{}");
  EXPECT_EQ(results[0].sample_task, "");
  EXPECT_EQ(results[0].sample_spec, "{}");
  EXPECT_EQ(results[1].result_id, "a.res");
  EXPECT_EQ(results[1].metric, "fid");
  EXPECT_EQ(results[1].value, 3.25);
  EXPECT_EQ(results[2].metric, "sfid");
  EXPECT_EQ(results[2].recipe, R"({"comparable_with_published":true})");
  EXPECT_EQ(results[2].axes, R"({"method":"adm"})");
  EXPECT_EQ(results[2].position, 0);
  EXPECT_EQ(results[2].run_id, "runA");
  EXPECT_EQ(results[2].eval_task, "a.eval");
  EXPECT_EQ(results[2].eval_spec, R"({"samples_of":"a.sample"})");
  EXPECT_EQ(results[2].sample_task, "a.sample");
  EXPECT_EQ(results[2].sample_spec, R"({"steps":100})");
  EXPECT_EQ(results[3].run_id, "runB");
  EXPECT_EQ(results[3].position, 1);
  EXPECT_EQ(results[3].sample_task, "");  // samples_of names no stored task
  EXPECT_EQ(results[3].sample_spec, "{}");
}

}  // namespace
}  // namespace repro::test
