// The orchestrator with the SlurmExecutor on a real one-node cluster: a plan of fake tasks
// (tests/runner/fake_task.h) to completion, a killed orchestrator whose jobs run on and are
// adopted by the next one (no task runs twice), and `repro cancel` of a killed orchestrator's
// jobs.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>

#include "runner/executor/slurm_executor.h"
#include "runner/orchestrate/cancel.h"
#include "runner/orchestrate/orchestrator.h"
#include "store/queries.h"
#include "tests/runner/fake_project.h"
#include "tests/runner/slurm/killed_orchestrator.h"
#include "tests/runner/slurm/slurm_cluster.h"
#include "tests/support/fake_plan.h"
#include "tests/support/test_support.h"

namespace repro::runner {
namespace {

using test::SlurmTest;

// Per run r: r-train, then r-sample.
Plan slurm_plan(const std::vector<std::string>& runs) { return test::fake_plan(runs, true, "fake-slurm"); }

struct Project : test::FakeProject {
  Project() : test::FakeProject(0.1, 0.2) {}
  static SlurmExecutorOptions executor_options() {
    SlurmExecutorOptions e;
    e.poll_interval_s = 0.3;
    e.heartbeat_s = 1;
    e.max_in_flight = 2;
    return e;
  }
};

TEST_F(SlurmTest, OrchestratorRunsAPlanAsSlurmJobs) {
  Project px;
  test::write_text(px.ctl + "/r2-train.codes", "1\n0\n");  // a transient failure, then success
  Store store(px.db);
  SlurmExecutor ex(Project::executor_options());
  const auto s = Orchestrator(store, ex, px.options()).run(slurm_plan({"r1", "r2"}));
  EXPECT_EQ(s.done, 4);
  EXPECT_TRUE(s.ok());
  for (const auto& [id, n] : test::read_completed(px.ctl)) EXPECT_EQ(n, 1) << id;
  const auto att = attempts_of_task(store, "r2-train");
  ASSERT_EQ(att.size(), 2u);
  EXPECT_EQ(att[0].executor, ExecutorKind::kSlurm);
  EXPECT_EQ(att[0].exit_code, 1);
  EXPECT_EQ(att[1].exit_code, 0);
  EXPECT_FALSE(att[1].job_id.empty());
  EXPECT_TRUE(std::filesystem::exists(slurm_status_path(att[1].log_path)));
  EXPECT_EQ(latest_metrics(store, "r1-train").at(0).step, 10);
}

// The first orchestrator of a test: SIGKILL once `starts` tasks have started (then `settle`).
bool kill_orchestrator_once_started(const Project& px, const Plan& plan, int starts, std::chrono::milliseconds settle) {
  return test_slurm::kill_orchestrator_once_started(px, plan, Project::executor_options(), starts, 30, settle);
}

TEST_F(SlurmTest, RestartedOrchestratorAdoptsItsJobs) {
  Project px;
  test::write_text(px.ctl + "/default.sleep", "4");
  const Plan plan = slurm_plan({"r1", "r2"});
  // The first orchestrator, in a process of its own, dies by SIGKILL once both trains run.
  ASSERT_TRUE(kill_orchestrator_once_started(px, plan, 2, std::chrono::milliseconds(0)));

  Store store(px.db);
  SlurmExecutor ex(Project::executor_options());
  const auto s = Orchestrator(store, ex, px.options()).run(plan);
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.done, 4);  // the adopted trains count as finished by this run
  for (const auto& [id, n] : test::read_completed(px.ctl)) EXPECT_EQ(n, 1) << id << " ran " << n << " times";
  EXPECT_EQ(test::read_completed(px.ctl).size(), 4u);
  for (const char* id : {"r1-train", "r2-train"}) {
    const auto att = attempts_of_task(store, id);
    ASSERT_EQ(att.size(), 1u) << id << ": adopted, not relaunched";
    EXPECT_EQ(att[0].exit_code, 0);
    EXPECT_TRUE(att[0].reason.empty()) << att[0].reason;
  }
  int terms = 0;
  for (const auto& t : test::read_trace(px.ctl)) terms += t.what == "term";
  EXPECT_EQ(terms, 0);  // nothing was stopped
}

TEST_F(SlurmTest, CancelWithNoOrchestratorScancelsItsJobsAndARerunResumes) {
  Project px;
  test::write_text(px.ctl + "/default.sleep", "60");
  const Plan plan = slurm_plan({"r1", "r2"});
  // An orchestrator dies by SIGKILL once both trains run: their jobs run on, the samples wait.
  ASSERT_TRUE(kill_orchestrator_once_started(px, plan, 2, std::chrono::milliseconds(500)));  // traps set
  {
    Store store(px.db);
    CancelOptions o;
    o.slurm = Project::executor_options();
    o.kill_grace_s = 30;
    const CancelReport report = cancel_runs(store, resolve_cancel_target(store, "fake-slurm"), o);
    EXPECT_FALSE(report.by_orchestrator);
    EXPECT_EQ(report.cancelled_tasks, 2);  // the samples
    EXPECT_EQ(report.stopped_tasks, 2);
    EXPECT_EQ(report.slurm_jobs, 2);
    EXPECT_EQ(report.unfinished_jobs, 0);
    for (const char* id : {"r1-train", "r2-train"}) {
      const auto att = attempts_of_task(store, id);
      ASSERT_EQ(att.size(), 1u) << id;
      EXPECT_TRUE(att[0].ended.has_value()) << id;
      EXPECT_EQ(att[0].exit_code, 6) << id << ": scancel --signal=TERM, it checkpointed";
      EXPECT_NE(att[0].reason.find(kCancelledByRequest), std::string::npos) << att[0].reason;
    }
    for (const auto& r : runs_of_experiment(store, "fake-slurm")) {
      EXPECT_EQ(r.status, TaskState::kCancelled) << r.run_id;
      EXPECT_EQ(r.tasks.cancelled, 2) << r.run_id;
    }
  }
  int terms = 0;
  for (const auto& t : test::read_trace(px.ctl)) terms += t.what == "term";
  EXPECT_EQ(terms, 2);

  test::write_text(px.ctl + "/default.sleep", "0.2");
  Store store(px.db);
  SlurmExecutor ex(Project::executor_options());
  const auto s = Orchestrator(store, ex, px.options()).run(plan);
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.done, 4);
  EXPECT_EQ(attempts_of_task(store, "r1-train").size(), 2u);
  for (const auto& [id, n] : test::read_completed(px.ctl)) EXPECT_EQ(n, 1) << id;
  EXPECT_EQ(test::read_completed(px.ctl).size(), 4u);
}

}  // namespace
}  // namespace repro::runner
