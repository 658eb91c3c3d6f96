#pragma once
// One cell's value over its seeds: the mean, the sample standard deviation (N-1) and how many.
#include <vector>

namespace repro::reports {

struct SeedStats {
  double mean = 0;
  double std = 0;  // sample standard deviation (N-1); 0 for one seed
  int n = 0;
};

// Precondition: values not empty.
SeedStats seed_stats(const std::vector<double>& values);

}  // namespace repro::reports
