#pragma once
// What the Slurm executor tests share: shell-script tasks, quick executor options, reading logs.
#include <fstream>
#include <sstream>
#include <string>

#include "runner/executor/slurm_executor.h"

namespace repro::runner::test_slurm {

inline std::string read_all(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
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

}  // namespace repro::runner::test_slurm
