#pragma once
// A runner::Clock for tests: time moves only when the code under test sleeps or the test advances
// it, so backoffs, timeouts and intervals of minutes take no wall time. Actions scheduled with
// at() run when the clock passes their time (a cancel request, a signal, a simulated crash: an
// action that throws unwinds the sleeper as a kill would stop it).
#include <algorithm>
#include <functional>
#include <map>
#include <utility>

#include "runner/orchestrate/clock.h"

namespace repro::test {

class SimulatedClock final : public runner::Clock {
 public:
  // Starts at `start` seconds: by default a Unix time, so that the store can share the clock
  // (StoreOptions::clock = store_clock()) and attempts' started/ended are simulated times too.
  explicit SimulatedClock(double start = 1.7e9) : now_(start), start_(start) {}

  double now() override { return now_; }
  void sleep_for(double seconds) override {
    ++sleeps_;
    advance(seconds);
  }

  // Moves the clock `seconds` forward, running each action scheduled until then at its own time,
  // in time order (ties in the order they were scheduled).
  void advance(double seconds) {
    const double target = now_ + std::max(0.0, seconds);
    while (!actions_.empty() && actions_.begin()->first <= target) {
      auto action = std::move(actions_.begin()->second);
      now_ = std::max(now_, actions_.begin()->first);
      actions_.erase(actions_.begin());
      action();
    }
    now_ = target;
  }

  // Runs `action` once the clock reaches `time` (absolute; see elapsed()).
  void at(double time, std::function<void()> action) { actions_.emplace(time, std::move(action)); }
  // Runs `action` `seconds` after the clock's start.
  void after_start(double seconds, std::function<void()> action) { at(start_ + seconds, std::move(action)); }

  // Seconds since the start, and the number of sleep_for calls so far.
  double elapsed() const { return now_ - start_; }
  int sleeps() const { return sleeps_; }

  // For StoreOptions::clock.
  std::function<double()> store_clock() {
    return [this] { return now_; };
  }

 private:
  double now_;
  double start_;
  int sleeps_ = 0;
  std::multimap<double, std::function<void()>> actions_;
};

}  // namespace repro::test
