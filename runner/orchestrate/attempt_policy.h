#pragma once
// What the orchestrator does with an attempt that ended: done, retried (after a backoff), failed
// or cancelled. docs/runner.md, "Exit codes and retries".
#include <string>

#include "runner/executor/executor.h"

namespace repro::runner {

struct RetryPolicy {
  // Attempts per task and per `repro run` (a rerun gives a failed task a fresh count). >= 1.
  int max_attempts = 3;
  // Delay before the second attempt; doubled for each further one, up to backoff_max_s. A
  // transient failure (out of memory, a GPU falling off the bus, a killed process) often clears
  // within tens of seconds; a task resumes from its last checkpoint, so waiting costs little.
  double backoff_s = 10;
  double backoff_max_s = 300;
  // Whether a task stopped at its timeout is launched again (it resumes from its checkpoint, so
  // each attempt makes progress). Off: the timeout bounds the task's total time.
  bool retry_timeouts = false;
};

// Seconds to wait before the next attempt of a task whose `attempts`-th attempt (1-based) is to be
// retried: backoff_s * 2^(attempts - 1), at most backoff_max_s.
double retry_delay(const RetryPolicy& policy, int attempts);

enum class AttemptOutcome { kDone, kRetry, kFail, kCancelled };

struct AttemptVerdict {
  AttemptOutcome outcome = AttemptOutcome::kFail;
  std::string
      reason;  // "" for done; else "exit 2 (bad command line or config)", "signal 9", "timeout after 60 s", "cancelled"
};

// The exit-code policy (docs/runner.md, "Exit codes and retries"): 0 done; 2, 3, 4 (config, I/O,
// data errors) and 5 (diverged) fail at once; 1 (internal error), 6 (stopped by a signal this
// orchestrator did not send), a killing signal and 129..255 (a shell's report of a killed child)
// are retried; a timeout fails unless `retry_timeouts`; a task the orchestrator cancelled is
// cancelled; any other code fails.
AttemptVerdict classify_attempt(const Finished& finished, bool retry_timeouts);

}  // namespace repro::runner
