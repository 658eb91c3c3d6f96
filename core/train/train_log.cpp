#include "core/train/train_log.h"

#include <cstdio>

namespace repro::core {

void LogMeans::add(const std::string& key, double value) {
  auto& acc = acc_[key];
  acc.first += value;
  acc.second += 1;
}

nlohmann::json LogMeans::dump() {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [key, acc] : acc_) out[key] = acc.first / static_cast<double>(acc.second);
  acc_.clear();
  return out;
}

std::string format_eta(double seconds) {
  if (!(seconds >= 0)) return "?";
  const auto s = static_cast<long long>(seconds + 0.5);
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof(buf), "%lldh%02lldm", s / 3600, s % 3600 / 60);
  else if (s >= 60)
    std::snprintf(buf, sizeof(buf), "%lldm%02llds", s / 60, s % 60);
  else
    std::snprintf(buf, sizeof(buf), "%llds", s);
  return buf;
}

}  // namespace repro::core
