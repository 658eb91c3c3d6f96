#include "base/diffusion/respace.h"

#include <cfenv>
#include <cmath>
#include <set>
#include <sstream>

#include "base/util/errors.h"
#include "base/util/strings.h"

namespace repro::core {

namespace {

[[noreturn]] void fail(const std::string& what) { throw ConfigError("", "timestep_respacing", what); }

int parse_positive(const std::string& s, const std::string& whole) {
  size_t used = 0;
  int v = 0;
  try {
    v = std::stoi(s, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != s.size() || s.empty() || v < 1)
    fail("expected positive integers like \"100\", \"50,50\" or \"ddim25\", got '" + whole + "'");
  return v;
}

// Python's round(): half to even. nearbyint honours the current mode, which is to-nearest-even
// unless someone changed it; set it explicitly for the call.
double round_half_even(double x) {
  const int old = std::fegetround();
  std::fesetround(FE_TONEAREST);
  double r = std::nearbyint(x);
  std::fesetround(old);
  return r;
}

}  // namespace

std::vector<int> space_timesteps(int num_timesteps, const std::string& section_counts) {
  if (starts_with(section_counts, "ddim")) {
    const int desired = parse_positive(section_counts.substr(4), section_counts);
    for (int stride = 1; stride < num_timesteps; ++stride) {
      int count = (num_timesteps + stride - 1) / stride;  // len(range(0, T, stride))
      if (count == desired) {
        std::vector<int> steps;
        for (int t = 0; t < num_timesteps; t += stride) steps.push_back(t);
        return steps;
      }
    }
    fail("cannot create exactly " + std::to_string(desired) + " steps with an integer stride over " +
         std::to_string(num_timesteps));
  }

  std::vector<int> counts;
  std::stringstream ss(section_counts);
  std::string item;
  while (std::getline(ss, item, ',')) counts.push_back(parse_positive(item, section_counts));
  if (counts.empty()) fail("empty respacing");

  const int sections = static_cast<int>(counts.size());
  const int size_per = num_timesteps / sections;
  const int extra = num_timesteps % sections;
  int start_idx = 0;
  std::set<int> all_steps;
  for (int i = 0; i < sections; ++i) {
    const int size = size_per + (i < extra ? 1 : 0);
    const int count = counts[i];
    if (size < count)
      fail("cannot divide a section of " + std::to_string(size) + " steps into " + std::to_string(count));
    const double frac_stride = count <= 1 ? 1.0 : static_cast<double>(size - 1) / (count - 1);
    double cur_idx = 0.0;
    for (int k = 0; k < count; ++k) {
      all_steps.insert(start_idx + static_cast<int>(round_half_even(cur_idx)));
      cur_idx += frac_stride;
    }
    start_idx += size;
  }
  return {all_steps.begin(), all_steps.end()};
}

}  // namespace repro::core
