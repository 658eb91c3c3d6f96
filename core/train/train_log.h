#pragma once
// What the trainer's log records are made of: the reference's logger.logkv_mean accumulator and
// the progress line's time estimate. Torch-free.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <utility>

namespace repro::core {

// logger.logkv_mean: per key, the mean of every value added since the last dump.
class LogMeans {
 public:
  void add(const std::string& key, double value);
  // The means by key, then empty again.
  nlohmann::json dump();

 private:
  std::map<std::string, std::pair<double, int64_t>> acc_;  // key -> (sum, count)
};

// "1h02m", "3m05s", "12s"; "?" for a negative or NaN time (no rate known yet).
std::string format_eta(double seconds);

}  // namespace repro::core
