#pragma once
// Small helpers the benchmarks share: wall seconds and the process's peak resident memory.
#include <sys/resource.h>

#include <chrono>

namespace repro::bench {

inline double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

inline double peak_rss_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss / 1024.0;
}

}  // namespace repro::bench
