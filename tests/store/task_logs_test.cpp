// task_logs: what `repro logs ID` finds for a task id or a run id, and which attempt it shows.
#include <gtest/gtest.h>

#include "store/queries.h"
#include "store/records.h"
#include "tests/store/store_fixture.h"

namespace repro::test {
namespace {

using runner::Store;
using runner::TaskKind;
using runner::TaskState;

// run1: train (two attempts, the second running), sample (one ended attempt), eval (never started).
void fill(Store& store) {
  put_train_task(store, "run1", "run1-train100");
  runner::put_task(store, {"run1-sample-a", "run1", TaskKind::kSample, "{}"});
  runner::put_task(store, {"run1-eval-a", "run1", TaskKind::kEval, "{}"});
  put_train_task(store, "run2", "run2-train100", 1);
  runner::AttemptStart start;
  start.task_id = "run1-train100";
  start.log_path = "/runs/run1/logs/run1-train100.1.log";
  runner::begin_attempt(store, start);
  runner::end_attempt(store, "run1-train100", 1, {137, "signal 9", std::nullopt});
  start.log_path = "/runs/run1/logs/run1-train100.2.log";
  runner::begin_attempt(store, start);
  start.task_id = "run1-sample-a";
  start.log_path = "/runs/run1/logs/run1-sample-a.1.log";
  runner::begin_attempt(store, start);
  runner::end_attempt(store, "run1-sample-a", 1, {0, "", std::nullopt});
  runner::set_task_state(store, "run1-sample-a", TaskState::kDone);
}

TEST(TaskLogs, ATaskIdGivesItsLatestAttempt) {
  TempDir dir;
  Store store(dir.file("repro.db"));
  fill(store);
  const auto logs = runner::task_logs(store, "run1-train100");
  ASSERT_EQ(logs.size(), 1u);
  EXPECT_EQ(logs[0].task_id, "run1-train100");
  EXPECT_EQ(logs[0].run_id, "run1");
  EXPECT_EQ(logs[0].kind, TaskKind::kTrain);
  EXPECT_EQ(logs[0].state, TaskState::kRunning);
  EXPECT_EQ(logs[0].attempts, 2);
  ASSERT_TRUE(logs[0].attempt.has_value());
  EXPECT_EQ(logs[0].attempt->attempt, 2);
  EXPECT_EQ(logs[0].attempt->log_path, "/runs/run1/logs/run1-train100.2.log");
  EXPECT_FALSE(logs[0].attempt->ended.has_value());  // still running: `repro logs -f` follows it
}

TEST(TaskLogs, AnAttemptNumberChoosesThatAttempt) {
  TempDir dir;
  Store store(dir.file("repro.db"));
  fill(store);
  const auto first = runner::task_logs(store, "run1-train100", 1);
  ASSERT_EQ(first.size(), 1u);
  ASSERT_TRUE(first[0].attempt.has_value());
  EXPECT_EQ(first[0].attempt->log_path, "/runs/run1/logs/run1-train100.1.log");
  EXPECT_EQ(*first[0].attempt->exit_code, 137);
  EXPECT_EQ(first[0].attempt->reason, "signal 9");
  EXPECT_TRUE(first[0].attempt->ended.has_value());
  // An attempt that was not made: the task is found, without an attempt.
  const auto third = runner::task_logs(store, "run1-train100", 3);
  ASSERT_EQ(third.size(), 1u);
  EXPECT_FALSE(third[0].attempt.has_value());
}

TEST(TaskLogs, ARunIdGivesEveryTaskOfTheRunInOrder) {
  TempDir dir;
  Store store(dir.file("repro.db"));
  fill(store);
  const auto logs = runner::task_logs(store, "run1");
  ASSERT_EQ(logs.size(), 3u);
  EXPECT_EQ(logs[0].task_id, "run1-train100");
  EXPECT_EQ(logs[0].attempt->attempt, 2);
  EXPECT_EQ(logs[1].task_id, "run1-sample-a");
  EXPECT_EQ(logs[1].state, TaskState::kDone);
  EXPECT_EQ(*logs[1].attempt->exit_code, 0);
  EXPECT_EQ(logs[2].task_id, "run1-eval-a");
  EXPECT_EQ(logs[2].attempts, 0);
  EXPECT_FALSE(logs[2].attempt.has_value());  // never started: no log yet
  const auto other = runner::task_logs(store, "run2");
  ASSERT_EQ(other.size(), 1u);
  EXPECT_FALSE(other[0].attempt.has_value());
}

TEST(TaskLogs, AnUnknownIdFindsNothing) {
  TempDir dir;
  Store store(dir.file("repro.db"));
  fill(store);
  EXPECT_TRUE(runner::task_logs(store, "nope").empty());
  EXPECT_TRUE(runner::task_logs(store, "run1-train").empty());  // ids match whole, not as prefixes
  EXPECT_TRUE(runner::task_logs(store, "").empty());
}

}  // namespace
}  // namespace repro::test
