#include "base/train/checkpoint_names.h"

#include <climits>
#include <cstdio>
#include <cstdlib>

namespace repro::core {

std::string checkpoint_name(const std::string& prefix, int64_t step) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%s%06lld.pt", prefix.c_str(), static_cast<long long>(step));
  return buf;
}

std::string ema_name(double rate, int64_t step) {
  // The shortest text that reads back as `rate`: "0.9999", as the reference's str(rate).
  char rate_buf[32];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(rate_buf, sizeof(rate_buf), "%.*g", precision, rate);
    if (std::strtod(rate_buf, nullptr) == rate) break;
  }
  return checkpoint_name(std::string("ema_") + rate_buf + "_", step);
}

namespace {

// `text` as a non-negative decimal number no larger than `max`, or nothing (empty, a non-digit,
// or too large: checked digit by digit, so no number overflows).
std::optional<int64_t> parse_decimal(const std::string& text, int64_t max) {
  if (text.empty()) return std::nullopt;
  int64_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    const int digit = c - '0';
    if (value > (max - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  return value;
}

}  // namespace

std::optional<int64_t> checkpoint_step(const std::string& name, const std::string& prefix, const std::string& suffix) {
  if (name.size() <= prefix.size() + suffix.size() || name.compare(0, prefix.size(), prefix) != 0 ||
      name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
    return std::nullopt;
  return parse_decimal(name.substr(prefix.size(), name.size() - prefix.size() - suffix.size()), INT64_MAX);
}

std::optional<int> temp_file_pid(const std::string& name) {
  static const std::string kMark = ".tmp-";
  const auto at = name.rfind(kMark);
  if (at == std::string::npos || at == 0) return std::nullopt;
  const auto pid = parse_decimal(name.substr(at + kMark.size()), INT_MAX);
  if (!pid || *pid == 0) return std::nullopt;
  return static_cast<int>(*pid);
}

}  // namespace repro::core
