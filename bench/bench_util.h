#pragma once
// Small helpers the benchmarks share: wall seconds, the process's peak resident memory and its
// page faults.
#include <sys/resource.h>

#include <chrono>

namespace repro::bench {

inline double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

inline double peak_rss_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}

// Page faults served without I/O so far, mostly first touches of fresh memory (on a VM they can
// cost more than the work that touches it).
inline long minor_faults() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_minflt;
}

}  // namespace repro::bench
