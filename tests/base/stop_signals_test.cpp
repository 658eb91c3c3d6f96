// base/util/stop_signals.h with signals raised in this process: counting, the last signal, the
// previous handlers back afterwards, a second signal that kills (in a forked copy), SA_RESTART.
#include "base/util/stop_signals.h"

#include <gtest/gtest.h>
#include <signal.h>

#include "base/util/process.h"
#include "tests/support/test_support.h"

namespace repro {
namespace {

// The handler installed for `sig` now.
struct sigaction action_of(int sig) {
  struct sigaction sa {};
  ::sigaction(sig, nullptr, &sa);
  return sa;
}

extern "C" void earlier_handler(int) {}

TEST(StopSignals, CountsEachSignalAndKnowsTheLast) {
  const StopSignals signals;
  EXPECT_EQ(signals.count()->load(), 0);
  EXPECT_EQ(signals.last_signal(), 0);
  ::raise(SIGTERM);
  EXPECT_EQ(signals.count()->load(), 1);
  EXPECT_EQ(signals.last_signal(), SIGTERM);
  ::raise(SIGINT);
  ::raise(SIGHUP);
  ::raise(SIGTERM);  // counted again, not fatal
  EXPECT_EQ(signals.count()->load(), 4);
  EXPECT_EQ(signals.last_signal(), SIGTERM);
}

TEST(StopSignals, RestoresThePreviousHandlersAndStartsFromZero) {
  struct sigaction mine {};
  mine.sa_handler = earlier_handler;
  sigemptyset(&mine.sa_mask);
  struct sigaction saved {};
  ::sigaction(SIGHUP, &mine, &saved);
  {
    const StopSignals signals;
    EXPECT_NE(action_of(SIGHUP).sa_handler, earlier_handler);
    ::raise(SIGHUP);
    EXPECT_EQ(signals.count()->load(), 1);
  }
  EXPECT_EQ(action_of(SIGHUP).sa_handler, earlier_handler);
  ::sigaction(SIGHUP, &saved, nullptr);
  const StopSignals again;
  EXPECT_EQ(again.count()->load(), 0);
}

TEST(StopSignals, OnlyTheNamedSignalsAndOneInstanceAtATime) {
  StopSignalOptions o;
  o.signals = {SIGTERM};
  const struct sigaction int_before = action_of(SIGINT);
  const StopSignals signals(o);
  EXPECT_EQ(action_of(SIGINT).sa_handler, int_before.sa_handler);
  EXPECT_NE(test::error_message([] { StopSignals second; }).find("StopSignals"), std::string::npos);
  ::raise(SIGTERM);
  EXPECT_EQ(signals.count()->load(), 1);  // the refused second one changed nothing
}

TEST(StopSignals, RestartCallsSetsSaRestart) {
  {
    const StopSignals signals;
    EXPECT_FALSE(action_of(SIGTERM).sa_flags & SA_RESTART);
  }
  StopSignalOptions o;
  o.restart_calls = true;
  const StopSignals signals(o);
  EXPECT_TRUE(action_of(SIGTERM).sa_flags & SA_RESTART);
}

TEST(StopSignals, WithSecondKillsTheSecondSignalTakesTheDefaultAction) {
  const ExitStatus status = run_in_child(
      [] {
        StopSignalOptions o;
        o.signals = {SIGTERM, SIGINT};
        o.second_kills = true;
        const StopSignals signals(o);
        ::raise(SIGTERM);
        if (signals.count()->load() != 1) return 2;
        ::raise(SIGINT);  // the first SIGINT: still counted
        if (signals.count()->load() != 2) return 3;
        ::raise(SIGTERM);
        return 4;  // not reached: the second SIGTERM kills
      },
      "raise signals");
  EXPECT_EQ(status.signal, SIGTERM) << status.shell_status();
}

}  // namespace
}  // namespace repro
