#include "runner/orchestrate/clock.h"

#include <chrono>
#include <thread>

namespace repro::runner {

double SystemClock::now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

void SystemClock::sleep_for(double seconds) {
  if (seconds > 0) std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
}

}  // namespace repro::runner
