#include "base/util/errors.h"

namespace repro {

namespace {
std::string format_config_error(const std::string& where, const std::string& key_path, const std::string& what) {
  std::string s;
  if (!where.empty()) s += where + ": ";
  if (!key_path.empty()) s += "key '" + key_path + "': ";
  return s + what;
}
}  // namespace

ConfigError::ConfigError(const std::string& where, const std::string& key_path, const std::string& what)
    : Error(format_config_error(where, key_path, what)), key_path_(key_path), detail_(what) {}

void check_failed(const char* expr, const char* file, int line, const std::string& msg) {
  throw std::logic_error(std::string("internal check failed: ") + expr + " at " + file + ":" + std::to_string(line) +
                         ": " + msg);
}

}  // namespace repro
