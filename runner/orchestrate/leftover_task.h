#pragma once
// Task processes a killed orchestrator left behind (docs/runner.md, "A killed orchestrator").
#include <sys/types.h>

#include <string>

namespace repro::runner {

// Stops a task process left over from a killed orchestrator, so that a relaunch never runs beside
// it: when `pid` is alive, not a zombie, and its command line names `task_file`, SIGTERM to its
// process group, SIGKILL after `grace_s` (0: at once). Otherwise (gone, or the pid reused)
// nothing. Blocks up to grace_s.
void stop_leftover_task(pid_t pid, const std::string& task_file, double grace_s);

}  // namespace repro::runner
