#pragma once
// Time for the orchestration loop: what it reads (now) and how it waits (sleep_for), behind an
// interface so that tests run retries, backoffs and timeouts on a simulated clock without sleeping.
// Seconds as a double, as StoreOptions::clock gives them.
namespace repro::runner {

class Clock {
 public:
  virtual ~Clock() = default;
  // Seconds on a monotonic scale; only differences mean something.
  virtual double now() = 0;
  // Waits `seconds` (<= 0: returns at once).
  virtual void sleep_for(double seconds) = 0;
};

// std::chrono::steady_clock and std::this_thread::sleep_for.
class SystemClock final : public Clock {
 public:
  double now() override;
  void sleep_for(double seconds) override;
};

}  // namespace repro::runner
