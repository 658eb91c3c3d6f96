#pragma once
// Signals as stop requests, one way for the whole project: `repro run` stops its tasks, a training
// checkpoints and exits, the rank launcher forwards the request to its ranks. The handler only
// touches lock-free atomics, so it is async-signal-safe; the code that stops polls count().
#include <signal.h>

#include <atomic>
#include <vector>

namespace repro {

struct StopSignalOptions {
  // The signals that ask for a stop. SIGHUP is a closed terminal.
  std::vector<int> signals = {SIGINT, SIGTERM, SIGHUP};
  // A signal's second arrival takes its default action (for SIGINT/SIGTERM: the process dies)
  // instead of being counted: for a process that cannot stop faster than its current step, so
  // that a second Ctrl-C still ends it. false: every arrival is counted.
  bool second_kills = false;
  // System calls the signal interrupts resume (SA_RESTART) instead of failing with EINTR: for code
  // that does not expect EINTR (a process group's sockets, file reads). false: a blocking wait
  // ends early and the loop around it sees the request.
  bool restart_calls = false;
};

// Counts the stop signals while alive; restores the previous handlers when destroyed.
// REQUIRES: at most one instance at a time (the count is process-wide, as signal handlers are).
class StopSignals {
 public:
  explicit StopSignals(StopSignalOptions options = {});
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  // Stop signals received since construction: for OrchestratorOptions::stop_requests and
  // TrainerOptions::stop. Written by the handler, so read it with load().
  const std::atomic<int>* count() const;
  // The signal that arrived last; 0 before the first.
  int last_signal() const;

 private:
  std::vector<int> signals_;
  std::vector<struct sigaction> previous_;  // parallel to signals_
};

}  // namespace repro
