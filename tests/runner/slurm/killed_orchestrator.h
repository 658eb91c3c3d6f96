#pragma once
// An orchestrator on the Slurm cluster that dies by SIGKILL mid-plan, as a lost login node would
// end it: its jobs run on, for the tests of adoption and of `repro cancel` without an
// orchestrator.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "runner/executor/slurm_executor.h"
#include "runner/orchestrate/orchestrator.h"
#include "store/store.h"
#include "tests/runner/fake_project.h"
#include "tests/support/test_support.h"

namespace repro::runner::test_slurm {

// Runs an orchestrator with SlurmExecutor(options) over `plan` in a child process and kills it
// once `starts` tasks have started (and `settle` later). False when they did not start within
// limit_s.
inline bool kill_orchestrator_once_started(const test::FakeProject& px, const Plan& plan,
                                           const SlurmExecutorOptions& options, int starts, double limit_s,
                                           std::chrono::milliseconds settle = std::chrono::milliseconds(0)) {
  const pid_t child = ::fork();
  if (child == 0) {
    try {
      Store store(px.db);
      SlurmExecutor ex(options);
      Orchestrator(store, ex, px.options()).run(plan);
    } catch (...) {
      ::_exit(98);
    }
    ::_exit(0);
  }
  const bool started = test::wait_until(
      [&] {
        int n = 0;
        for (const auto& t : test::read_trace(px.ctl)) n += t.what == "start";
        return n >= starts;
      },
      limit_s, 50);
  if (started) std::this_thread::sleep_for(settle);
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  return started;
}

}  // namespace repro::runner::test_slurm
