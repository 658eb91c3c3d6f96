// put_task on an existing task (store/records.h): the state, attempts and times stay, the spec
// follows the plan. A train task's id does not hash its spec, so a newer plan can change it
// (keep_steps), and the store must show what the task file says.
#include <gtest/gtest.h>

#include "store/lookups.h"
#include "store/queries.h"
#include "store/records.h"
#include "tests/store/store_fixture.h"

namespace repro::test {
namespace {

using runner::Store;
using runner::TaskKind;
using runner::TaskState;

TEST(TaskSpecRefresh, AnExistingTaskKeepsItsStateAndTakesTheNewSpec) {
  TempDir dir;
  FakeClock clock;
  Store store(dir.file("repro.db"), options_with(&clock));
  put_train_task(store, "run1", "run1-train30");
  runner::begin_attempt(store, {"run1-train30"});
  runner::set_task_state(store, "run1-train30", TaskState::kFailed);
  const double before = clock.now;
  clock.now += 100;
  const std::string spec = R"({"iterations":100,"keep_steps":[10,30]})";
  runner::put_task(store, {"run1-train30", "run1", TaskKind::kTrain, spec});
  const auto tasks = runner::tasks_of_run(store, "run1");
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].spec, spec);
  EXPECT_EQ(tasks[0].state, TaskState::kFailed);
  EXPECT_EQ(tasks[0].attempts, 1);
  EXPECT_EQ(tasks[0].created, before);
  EXPECT_EQ(tasks[0].updated, before);  // `updated` is about state and attempts
  // The same spec again changes nothing.
  runner::put_task(store, {"run1-train30", "run1", TaskKind::kTrain, spec});
  EXPECT_EQ(runner::tasks_of_run(store, "run1")[0].updated, before);
  EXPECT_EQ(runner::task_attempts(store, "run1-train30"), 1);
}

}  // namespace
}  // namespace repro::test
