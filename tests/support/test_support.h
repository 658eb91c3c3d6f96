#pragma once
// Helpers shared by the tests: scratch directories and Debian's Python for cross-checks.
#include <nlohmann/json.hpp>

#include <exception>
#include <filesystem>
#include <string>
#include <vector>

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

// Every record of a JSON-lines file (events.jsonl), in order.
std::vector<nlohmann::json> read_events(const std::string& path);

// Runs the repro binary under test with `args` (shell words), output captured as run_command.
int repro_cli(const std::string& args, std::string* output);

// The repro binary under test and the source tree.
std::string repro_binary();
std::string source_dir();

}  // namespace repro::test
