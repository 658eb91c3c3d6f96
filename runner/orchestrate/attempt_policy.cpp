#include "runner/orchestrate/attempt_policy.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "base/util/exit_code.h"

namespace repro::runner {
namespace {

// The verdict on an exit code of repro's table (base/util/exit_code.h); nullopt for the others.
std::optional<AttemptVerdict> verdict_of_repro_code(int code) {
  const std::optional<ExitCode> known = exit_code_of(code);
  if (!known) return std::nullopt;
  const std::string text = "exit " + std::to_string(code) + " (" + describe(*known);
  switch (*known) {
    case ExitCode::kInternal:  // out of memory, a NCCL hiccup, a flaky file system: often transient
      return AttemptVerdict{AttemptOutcome::kRetry, text + ")"};
    case ExitCode::kConfig:  // the same input fails the same way
    case ExitCode::kIo:
    case ExitCode::kData:
    case ExitCode::kDiverged:  // deterministic given the seed
      return AttemptVerdict{AttemptOutcome::kFail, text + ")"};
    case ExitCode::kInterrupted:  // someone else's SIGTERM (a shutdown): the task resumes
      return AttemptVerdict{AttemptOutcome::kRetry, text + " from outside)"};
    default:  // success is handled before; 7 and 8 are not a task's codes
      return std::nullopt;
  }
}

}  // namespace

double retry_delay(const RetryPolicy& policy, int attempts) {
  return std::min(policy.backoff_max_s, policy.backoff_s * std::pow(2.0, attempts - 1));
}

AttemptVerdict classify_attempt(const Finished& f, bool retry_timeouts) {
  if (f.exit_code && *f.exit_code == to_int(ExitCode::kOk)) return {AttemptOutcome::kDone, ""};
  if (f.cancelled) return {AttemptOutcome::kCancelled, "cancelled"};
  if (f.timed_out) {
    std::ostringstream s;
    s << "timeout after " << std::lround(f.seconds) << " s";
    return {retry_timeouts ? AttemptOutcome::kRetry : AttemptOutcome::kFail, s.str()};
  }
  if (f.signal) return {AttemptOutcome::kRetry, "signal " + std::to_string(*f.signal)};
  const int code = *f.exit_code;
  if (auto verdict = verdict_of_repro_code(code)) return *verdict;
  const std::string e = "exit " + std::to_string(code);
  if (code > 128) return {AttemptOutcome::kRetry, e + " (signal " + std::to_string(code - 128) + ")"};
  return {AttemptOutcome::kFail, e};
}

}  // namespace repro::runner
