#pragma once
// What the Slurm executor tests share: shell-script tasks, quick executor options, waiting for
// jobs to start and to end.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

#include "runner/executor/slurm_executor.h"
#include "tests/support/test_support.h"

namespace repro::runner::test_slurm {

// The cluster's queue, for a failure message.
inline std::string squeue_all() {
  std::string out;
  test::run_command("squeue --states=all -o '%i %j %T %r %M'", &out);
  return out;
}

// Polls and heartbeats fast enough for tests that wait seconds, not minutes.
inline SlurmExecutorOptions quick_options() {
  SlurmExecutorOptions o;
  o.poll_interval_s = 0.2;
  o.heartbeat_s = 1;
  o.kill_grace_s = 3;
  return o;
}

// A task that runs `script` with /bin/sh in `dir`, logging to DIR/KEY.1.log.
inline LaunchRequest shell_task(const std::string& dir, const std::string& key, const std::string& script) {
  LaunchRequest r;
  r.key = key;
  r.argv = {"/bin/sh", "-c", script};
  r.working_dir = dir;
  r.log_path = dir + "/" + key + ".1.log";
  return r;
}

// Waits until the wrapper's status file says the job runs; a test failure past the limit.
inline bool wait_started(const std::string& log_path, double limit_s = 30) {
  const auto status_says_started = [&] {
    const auto s = read_slurm_job_status(slurm_status_path(log_path));
    return s && s->start;
  };
  if (test::wait_until(status_says_started, limit_s, 100)) return true;
  ADD_FAILURE() << "not started: " << log_path << "\nlog: " << test::read_text(log_path) << "\nsqueue:\n"
                << squeue_all();
  return false;
}

// Polls until every task in `keys` has ended; returns every end seen, by key (a test failure past
// the limit).
inline std::map<std::string, Finished> wait_all(SlurmExecutor& ex, const std::set<std::string>& keys,
                                                double limit_s = 60) {
  std::map<std::string, Finished> got;
  const auto all_ended = [&] {
    for (const auto& f : ex.poll()) got[f.key] = f;
    for (const auto& k : keys)
      if (!got.count(k)) return false;
    return true;
  };
  if (!test::wait_until(all_ended, limit_s, 100))
    ADD_FAILURE() << got.size() << " of " << keys.size() << " ended within " << limit_s << " s; squeue:\n"
                  << squeue_all();
  return got;
}

}  // namespace repro::runner::test_slurm
