#pragma once
// Helpers shared by the tests: scratch directories, files, polling, Debian's Python for
// cross-checks and the repro binary.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <exception>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "base/util/errors.h"

namespace repro::test {

// A fresh directory under the system temp dir, removed when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  // Writes `text` as the file `name` here (replacing it); returns its path.
  std::string write(const std::string& name, const std::string& text) const;

 private:
  std::filesystem::path path_;
};

// The interpreter with Debian's numpy/scipy/PIL/torch: $REPRO_PYTHON or /usr/bin/python3
// (the python3 first on PATH may be another interpreter without them).
std::string python_interpreter();

// Runs `code` with python_interpreter() in `cwd`; returns the exit status. Output goes to
// stdout/stderr of the test so a failure shows the Python traceback.
int run_python(const std::string& code, const std::filesystem::path& cwd);

// Runs a shell command, capturing stdout+stderr into `output`; returns the exit status.
int run_command(const std::string& command, std::string* output);

// The what() of the exception `fn` throws, or "" when it throws none.
template <typename Fn>
std::string error_message(Fn&& fn) {
  try {
    fn();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

// The ConfigError `fn` throws (fails the test when it throws none).
template <typename Fn>
ConfigError config_error(Fn&& fn) {
  try {
    fn();
  } catch (const ConfigError& e) {
    return e;
  }
  ADD_FAILURE() << "no ConfigError";
  return ConfigError("", "", "");
}

// Polls `pred` every `poll_ms` until it holds (true) or `limit_s` seconds have passed (false).
template <typename Pred>
bool wait_until(Pred&& pred, double limit_s = 60, int poll_ms = 20) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(limit_s);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(poll_ms));
  }
  return true;
}

// The whole file, or "" when it cannot be read (a log not written yet, say).
std::string read_text(const std::string& path);

// The targets of the Markdown image links ![..](target) in `md`, in order.
std::vector<std::string> markdown_images(const std::string& md);

// The file's lines without their '\n'; {} when it cannot be read.
std::vector<std::string> read_lines(const std::string& path);

// Writes dir/<file> with arr_0: `n` random 8x8 RGB uint8 images drawn by NumPy
// (default_rng(seed).integers(0, 256, (n, 8, 8, 3))); false when Python failed.
bool write_numpy_images(const TempDir& dir, const std::string& file, int n, int seed);

// Every record of a JSON-lines file (events.jsonl), in order.
std::vector<nlohmann::json> read_events(const std::string& path);

// Runs the repro binary under test with `args` (shell words), output captured as run_command.
int repro_cli(const std::string& args, std::string* output);

// The repro binary under test and the source tree.
std::string repro_binary();
std::string source_dir();

}  // namespace repro::test
