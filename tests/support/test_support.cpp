#include "tests/support/test_support.h"

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <random>
#include <regex>
#include <stdexcept>

namespace repro::test {

namespace fs = std::filesystem;

TempDir::TempDir() {
  std::random_device rd;
  for (int attempt = 0; attempt < 100; ++attempt) {
    auto candidate = fs::temp_directory_path() / ("repro-test-" + std::to_string(rd()));
    if (fs::create_directory(candidate)) {
      path_ = candidate;
      return;
    }
  }
  throw std::runtime_error("could not create a temp directory");
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::string TempDir::write(const std::string& name, const std::string& text) const {
  std::string path = file(name);
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

std::string python_interpreter() {
  const char* env = std::getenv("REPRO_PYTHON");
  return env && *env ? env : "/usr/bin/python3";
}

static int exit_status(int raw) { return WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw); }

int run_python(const std::string& code, const fs::path& cwd) {
  auto script = cwd / "script.py";
  {
    std::ofstream out(script);
    out << code;
  }
  std::string cmd = "cd '" + cwd.string() + "' && '" + python_interpreter() + "' script.py";
  return exit_status(std::system(cmd.c_str()));
}

int run_command(const std::string& command, std::string* output) {
  std::string full = command + " 2>&1";
  FILE* pipe = popen(full.c_str(), "r");
  if (!pipe) return -1;
  std::array<char, 4096> buf{};
  output->clear();
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) output->append(buf.data(), n);
  return exit_status(pclose(pipe));
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<std::string> markdown_images(const std::string& md) {
  std::vector<std::string> out;
  const std::regex link(R"(!\[[^\]]*\]\(([^)]+)\))");
  for (auto it = std::sregex_iterator(md.begin(), md.end(), link); it != std::sregex_iterator(); ++it)
    out.push_back((*it)[1]);
  return out;
}

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

bool write_numpy_images(const TempDir& dir, const std::string& file, int n, int seed) {
  return run_python("import numpy as np\nrng = np.random.default_rng(" + std::to_string(seed) + ")\nnp.savez('" + file +
                        "', rng.integers(0, 256, (" + std::to_string(n) + ", 8, 8, 3), dtype=np.uint8))\n",
                    dir.path()) == 0;
}

std::vector<nlohmann::json> read_events(const std::string& path) {
  std::vector<nlohmann::json> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
  return out;
}

std::string repro_binary() { return REPRO_BINARY; }
std::string source_dir() { return REPRO_SOURCE_DIR; }

int repro_cli(const std::string& args, std::string* output) {
  return run_command("'" + repro_binary() + "' " + args, output);
}

}  // namespace repro::test
