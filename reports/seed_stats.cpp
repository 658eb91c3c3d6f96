#include "reports/seed_stats.h"

#include <cmath>

#include "base/util/errors.h"

namespace repro::reports {

SeedStats seed_stats(const std::vector<double>& values) {
  REPRO_CHECK(!values.empty(), "seed_stats of no values");
  SeedStats s;
  s.n = static_cast<int>(values.size());
  for (double v : values) s.mean += v;
  s.mean /= s.n;
  if (s.n > 1) {
    double ss = 0;
    for (double v : values) ss += (v - s.mean) * (v - s.mean);
    s.std = std::sqrt(ss / (s.n - 1));
  }
  return s;
}

}  // namespace repro::reports
