// The point reads the orchestrator and `repro cancel` make while they write (store/lookups.h).
#include "store/lookups.h"

#include <gtest/gtest.h>

#include "base/util/errors.h"
#include "store/records.h"
#include "tests/store/store_fixture.h"

namespace repro::test {
namespace {

using runner::Store;
using runner::TaskKind;
using runner::TaskState;

TEST(Lookups, TaskStateAndAttempts) {
  TempDir dir;
  Store store(dir.file("repro.db"));
  put_train_task(store, "run1", "task1");
  EXPECT_EQ(runner::task_state(store, "task1"), TaskState::kPending);
  EXPECT_EQ(runner::task_state(store, "nope"), std::nullopt);
  EXPECT_EQ(runner::task_attempts(store, "task1"), 0);
  runner::begin_attempt(store, {"task1"});
  runner::begin_attempt(store, {"task1"});
  EXPECT_EQ(runner::task_attempts(store, "task1"), 2);
  EXPECT_EQ(runner::task_state(store, "task1"), TaskState::kRunning);
  EXPECT_THROW(runner::task_attempts(store, "nope"), IoError);
}

TEST(Lookups, TasksOfARunInTheOrderTheyWerePut) {
  TempDir dir;
  Store store(dir.file("repro.db"));
  put_train_task(store, "run1", "b-train");
  runner::put_task(store, {"a-sample", "run1", TaskKind::kSample, "{}"});
  runner::set_task_state(store, "a-sample", TaskState::kCancelled);
  const auto tasks = runner::task_states_of_run(store, "run1");
  ASSERT_EQ(tasks.size(), 2u);
  EXPECT_EQ(tasks[0].task_id, "b-train");
  EXPECT_EQ(tasks[0].state, TaskState::kPending);
  EXPECT_EQ(tasks[1].task_id, "a-sample");
  EXPECT_EQ(tasks[1].state, TaskState::kCancelled);
  EXPECT_TRUE(runner::task_states_of_run(store, "nope").empty());
  EXPECT_EQ(runner::stored_run_dir(store, "run1"), "/runs/run1");
  EXPECT_EQ(runner::stored_run_dir(store, "nope"), std::nullopt);
}

TEST(Lookups, ExperimentsAndRunIdsByPrefix) {
  TempDir dir;
  Store store(dir.file("repro.db"));
  put_train_task(store, "ab34", "t1", 2, "table2");
  put_train_task(store, "ab12", "t2", 1, "table2");
  put_train_task(store, "ab", "t3", 0, "other");
  EXPECT_TRUE(runner::experiment_exists(store, "table2"));
  EXPECT_FALSE(runner::experiment_exists(store, "table3"));
  EXPECT_EQ(runner::run_ids_of_experiment(store, "table2"), (std::vector<std::string>{"ab12", "ab34"}));
  EXPECT_TRUE(runner::run_ids_of_experiment(store, "table3").empty());
  // The exact id first, then the others in id order, at most `limit`.
  EXPECT_EQ(runner::run_ids_starting_with(store, "ab", 6), (std::vector<std::string>{"ab", "ab12", "ab34"}));
  EXPECT_EQ(runner::run_ids_starting_with(store, "ab", 2), (std::vector<std::string>{"ab", "ab12"}));
  EXPECT_EQ(runner::run_ids_starting_with(store, "ab3", 6), (std::vector<std::string>{"ab34"}));
  EXPECT_TRUE(runner::run_ids_starting_with(store, "x", 6).empty());
}

}  // namespace
}  // namespace repro::test
