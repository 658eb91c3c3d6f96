// Orchestrator::dry_run says whether each task fits the executor, by the executor's own rule
// (Executor::fits, which run() fails a task by) and with run()'s reason.
#include <gtest/gtest.h>

#include "runner/executor/local_executor.h"
#include "runner/orchestrate/orchestrator.h"
#include "tests/support/fake_plan.h"

using namespace repro;
using namespace repro::runner;

namespace {

// One train task of 2 processes (train.world_size 2) and a sample task after it.
Plan two_process_plan() {
  Plan p = test::fake_plan({"r"}, true);
  p.tasks[0].processes = 2;
  return p;
}

OrchestratorOptions options() {
  OrchestratorOptions o;
  o.project_dir = "/nonexistent";
  o.repro_binary = "/bin/true";
  return o;
}

}  // namespace

TEST(DryRunFit, TwoProcessesNeverFitOneCpuSlot) {
  LocalExecutor cpu1({1, {}, 1});
  const auto lines = Orchestrator::dry_run(nullptr, cpu1, two_process_plan(), options());
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_FALSE(lines[0].fits);
  EXPECT_EQ(lines[0].slot.gpus, 0);
  EXPECT_EQ(lines[0].slot.ranks(), 2);
  EXPECT_NE(lines[0].unfit_reason.find("needs 2 CPU processes at once"), std::string::npos) << lines[0].unfit_reason;
  EXPECT_TRUE(lines[1].fits);  // the sample task takes one slot
  EXPECT_TRUE(lines[1].unfit_reason.empty());
  LocalExecutor cpu2({2, {}, 1});
  EXPECT_TRUE(Orchestrator::dry_run(nullptr, cpu2, two_process_plan(), options())[0].fits);
}

TEST(DryRunFit, GpuTasksNeedAsManyGpusAsProcesses) {
  LocalExecutor one_gpu({0, {"0"}, 1});
  const auto lines = Orchestrator::dry_run(nullptr, one_gpu, two_process_plan(), options());
  EXPECT_EQ(lines[0].slot.gpus, 2);  // one GPU per process where the executor has GPUs
  EXPECT_FALSE(lines[0].fits);
  EXPECT_NE(lines[0].unfit_reason.find("needs 2 GPUs"), std::string::npos) << lines[0].unfit_reason;
  LocalExecutor two_gpus({0, {"0", "1"}, 1});
  EXPECT_TRUE(Orchestrator::dry_run(nullptr, two_gpus, two_process_plan(), options())[0].fits);
}
