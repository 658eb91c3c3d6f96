#include "core/train/checkpoint_names.h"

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

}  // namespace repro::core
