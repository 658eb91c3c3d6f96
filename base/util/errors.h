#pragma once
// The error hierarchy for user mistakes and environment failures. Library code throws these;
// only cli/ maps them to exit codes (see `repro --help`). Invariant violations inside the code use
// REPRO_CHECK (always on) and TORCH_CHECK at tensor boundaries.
#include <stdexcept>
#include <string>

namespace repro {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A configuration file or option is wrong. The message names the file, the key path,
// what was expected and what was found.
class ConfigError : public Error {
 public:
  ConfigError(const std::string& where, const std::string& key_path, const std::string& what);
  const std::string& key_path() const { return key_path_; }
  const std::string& detail() const { return detail_; }  // `what` without location

 private:
  std::string key_path_;
  std::string detail_;
};

// A file could not be read or written, or is not in the expected format.
class IoError : public Error {
 public:
  using Error::Error;
};

// Input data is well-formed but unusable (wrong shape, dtype, range, missing tensor keys).
class DataError : public Error {
 public:
  using Error::Error;
};

// Always-on invariant check: a failure is a bug in repro, not a user error.
[[noreturn]] void check_failed(const char* expr, const char* file, int line, const std::string& msg);

}  // namespace repro

#define REPRO_CHECK(cond, msg)                                            \
  do {                                                                    \
    if (!(cond)) ::repro::check_failed(#cond, __FILE__, __LINE__, (msg)); \
  } while (0)
