// A project planned by an older repro: its train task row has a spec without keep_steps. Rerun with
// a plan whose train spec has them (same task id: train ids do not hash their spec), the task keeps
// its row and attempt count, the store and the task file take the new spec, and the task resumes.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>

#include "base/util/file_io.h"
#include "runner/orchestrate/run_loop.h"
#include "runner/orchestrate/task_files.h"
#include "store/lookups.h"
#include "store/queries.h"
#include "tests/support/fake_executor.h"
#include "tests/support/fake_plan.h"
#include "tests/support/run_outcomes.h"
#include "tests/support/simulated_clock.h"
#include "tests/support/test_support.h"

namespace repro::runner {
namespace {

TEST(RerunTrainSpec, AnOldTrainRowResumesWithTheNewSpec) {
  test::TempDir dir;
  test::SimulatedClock clock;
  StoreOptions so;
  so.clock = clock.store_clock();
  Store store(":memory:", so);
  OrchestratorOptions options;
  options.project_dir = dir.file("project");
  options.repro_binary = "/fake/repro";
  options.poll_interval_s = 0.5;
  std::filesystem::create_directories(options.project_dir);
  test::FakeExecutorOptions eo;
  eo.max_parallel = 1;
  test::FakeExecutor ex(clock, eo);
  ex.script("r1-train", {test::exits(2, 1), test::exits(0, 1)});

  const Plan old_plan = test::fake_plan({"r1"}, false);  // spec {"iterations":10}: no keep_steps
  RunLoop(store, ex, options, clock, old_plan).run();
  ASSERT_EQ(task_state(store, "r1-train"), TaskState::kFailed);

  Plan plan = old_plan;
  const std::string spec = R"({"iterations":10,"keep_steps":[5,10]})";
  plan.tasks[0].spec = spec;
  const auto s = RunLoop(store, ex, options, clock, plan).run();
  EXPECT_EQ(test::outcome(s, "r1-train").state, TaskState::kDone);
  EXPECT_EQ(task_attempts(store, "r1-train"), 2);  // the row went on: its second attempt
  EXPECT_EQ(tasks_of_run(store, "r1")[0].spec, spec);
  const std::string file = task_file_of(run_dir_of(options.project_dir, "r1"), "r1-train");
  EXPECT_EQ(nlohmann::json::parse(read_file(file))["spec"], nlohmann::json::parse(spec));
  ASSERT_EQ(ex.launches_of("r1-train").size(), 2u);
  EXPECT_EQ(ex.launches_of("r1-train")[1].request.env.at("REPRO_TASK_ATTEMPT"), "2");
}

}  // namespace
}  // namespace repro::runner
