// The exit-code table of docs/runner.md, "Exit codes and retries": the outcome and the reason text
// the store records for each way an attempt can end, and the retry backoff.
#include "runner/orchestrate/attempt_policy.h"

#include <gtest/gtest.h>
#include <signal.h>

namespace repro::runner {
namespace {

AttemptVerdict verdict(std::optional<int> code, std::optional<int> sig = {}, bool timed_out = false,
                       bool retry_timeouts = false) {
  Finished f;
  f.exit_code = code;
  f.signal = sig;
  f.timed_out = timed_out;
  f.seconds = 59.6;
  return classify_attempt(f, retry_timeouts);
}

void expect(const AttemptVerdict& v, AttemptOutcome outcome, const std::string& reason) {
  EXPECT_EQ(v.outcome, outcome) << reason;
  EXPECT_EQ(v.reason, reason);
}

TEST(AttemptPolicy, ReasonsNameTheExitCode) {
  expect(verdict(0), AttemptOutcome::kDone, "");
  expect(verdict(1), AttemptOutcome::kRetry, "exit 1 (internal error)");
  expect(verdict(2), AttemptOutcome::kFail, "exit 2 (bad command line or config)");
  expect(verdict(3), AttemptOutcome::kFail, "exit 3 (file I/O error)");
  expect(verdict(4), AttemptOutcome::kFail, "exit 4 (unusable input data)");
  expect(verdict(5), AttemptOutcome::kFail, "exit 5 (diverged)");
  expect(verdict(6), AttemptOutcome::kRetry, "exit 6 (interrupted by a signal from outside)");
  expect(verdict(7), AttemptOutcome::kFail, "exit 7");
  expect(verdict(8), AttemptOutcome::kFail, "exit 8");
  expect(verdict(127), AttemptOutcome::kFail, "exit 127");
  expect(verdict(128), AttemptOutcome::kFail, "exit 128");
  expect(verdict(137), AttemptOutcome::kRetry, "exit 137 (signal 9)");
  expect(verdict({}, SIGKILL), AttemptOutcome::kRetry, "signal 9");
  expect(verdict(6, {}, true), AttemptOutcome::kFail, "timeout after 60 s");
  expect(verdict({}, SIGKILL, true, true), AttemptOutcome::kRetry, "timeout after 60 s");
  Finished cancelled;
  cancelled.exit_code = 6;
  cancelled.cancelled = true;
  expect(classify_attempt(cancelled, false), AttemptOutcome::kCancelled, "cancelled");
}

TEST(AttemptPolicy, BackoffDoublesUpToItsCap) {
  RetryPolicy p;
  p.backoff_s = 10;
  p.backoff_max_s = 300;
  EXPECT_EQ(retry_delay(p, 1), 10);
  EXPECT_EQ(retry_delay(p, 2), 20);
  EXPECT_EQ(retry_delay(p, 5), 160);
  EXPECT_EQ(retry_delay(p, 6), 300);
  EXPECT_EQ(retry_delay(p, 60), 300);
}

}  // namespace
}  // namespace repro::runner
