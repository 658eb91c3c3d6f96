#include "base/diffusion/eps_scale.h"

#include <cmath>
#include <cstdlib>
#include <sstream>

#include "base/util/errors.h"

namespace repro::core {

namespace {

// The whole of `text` as a finite double, or false.
bool read_double(const std::string& text, double& out) {
  if (text.empty() || std::isspace(static_cast<unsigned char>(text.front()))) return false;
  char* end = nullptr;
  out = std::strtod(text.c_str(), &end);
  return *end == '\0' && std::isfinite(out);
}

std::string shortest(double v) {
  std::ostringstream s;
  s.precision(15);
  s << v;
  return s.str();
}

}  // namespace

EpsScale parse_eps_scale(const std::string& text, const std::string& option) {
  EpsScale s;
  const auto comma = text.find(',');
  const std::string b = text.substr(0, comma);
  const std::string k = comma == std::string::npos ? "" : text.substr(comma + 1);
  if (!read_double(b, s.b) || (comma != std::string::npos && !read_double(k, s.k)))
    throw ConfigError("", option,
                      "expected B or B,K (lambda_i = B + K i), such as 1.017 or 1.0,0.0001; got '" + text + "'");
  return s;
}

std::string eps_scale_text(const EpsScale& s) {
  if (s.k == 0.0) return shortest(s.b);
  return shortest(s.b) + (s.k < 0 ? "-" : "+") + shortest(std::abs(s.k)) + "i";
}

void validate_eps_scale(const EpsScale& s, int num_timesteps, const std::string& where, const std::string& key) {
  if (!std::isfinite(s.b) || !std::isfinite(s.k))
    throw ConfigError(where, key, "expected finite b and k, got " + eps_scale_text(s));
  const double last = s.at(std::max(0, num_timesteps - 1));
  if (!(s.b > 0) || !(last > 0))
    throw ConfigError(where, key,
                      "lambda_i = b + k i must stay > 0 over the " + std::to_string(num_timesteps) + " steps; got " +
                          shortest(s.b) + " at i = 0 and " + shortest(last) +
                          " at i = " + std::to_string(std::max(0, num_timesteps - 1)));
}

}  // namespace repro::core
