#pragma once
// How many of a set of time intervals are open at once: the tests' check of parallel limits
// (tasks, jobs, attempts) from the times they recorded.
#include <algorithm>
#include <utility>
#include <vector>

namespace repro::test {

// The most intervals [start, end) open at the same time; one that ends at the moment another
// starts does not overlap it (its slot was free again).
inline int max_overlap(const std::vector<std::pair<double, double>>& spans) {
  std::vector<std::pair<double, int>> edges;
  for (const auto& [start, end] : spans) {
    edges.push_back({start, +1});
    edges.push_back({end, -1});
  }
  std::sort(edges.begin(), edges.end());  // at equal times, ends (-1) first
  int open = 0, most = 0;
  for (const auto& [time, step] : edges) most = std::max(most, open += step);
  return most;
}

}  // namespace repro::test
