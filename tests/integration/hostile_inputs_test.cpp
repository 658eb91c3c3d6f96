// The bad-input corpus (tests/data/hostile, written by make_hostile.py): every crafted file fed to
// the repro binary as a user would. Each must end with its expected exit code (never a signal,
// never exit 1, never a hang), a message naming the file and what is wrong, peak memory under
// 1 GiB, and nothing written: no output, no temp file, the input untouched.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>
#include <chrono>
#include <filesystem>
#include <map>
#include <sstream>
#include <thread>

#include "base/util/file_io.h"
#include "base/util/strings.h"
#include "tests/support/test_support.h"

namespace repro {
namespace {

namespace fs = std::filesystem;

struct HostileCase {
  std::string name, args, fragment;
  int exit = 0;
};

// gtest prints a failing parameter with this instead of its bytes.
void PrintTo(const HostileCase& c, std::ostream* os) { *os << c.name; }

std::string hostile_dir() { return test::source_dir() + "/tests/data/hostile"; }

std::vector<HostileCase> load_cases() {
  std::vector<HostileCase> out;
  for (const auto& j : nlohmann::json::parse(read_file(hostile_dir() + "/cases.json")))
    out.push_back({j.at("name"), j.at("args"), j.at("fragment"), j.at("exit").get<int>()});
  return out;
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
  return s;
}

// Every path under `root` with its size: what "nothing written" is checked against.
std::map<std::string, uintmax_t> listing(const fs::path& root) {
  std::map<std::string, uintmax_t> out;
  if (!fs::exists(root)) return out;
  for (const auto& e : fs::recursive_directory_iterator(root))
    out[fs::relative(e.path(), root).string()] = e.is_regular_file() ? e.file_size() : 0;
  return out;
}

struct Outcome {
  int status = 0;        // as from wait4
  long max_rss_kib = 0;  // peak resident set of the child
  bool timed_out = false;
  std::string output;  // stdout + stderr
};

constexpr auto kTimeLimit = std::chrono::seconds(120);
constexpr long kRssLimitKib = 1024 * 1024;  // 1 GiB

// Runs the binary with `args` (space-separated; the paths hold no spaces) with a CPU-time ceiling
// and reports its peak RSS (the kernel's count, which an address-space limit would not give:
// LibTorch maps gigabytes it never touches).
Outcome run_repro(const std::string& args, const fs::path& log) {
  std::vector<std::string> words{test::repro_binary()};
  std::istringstream in(args);
  for (std::string w; in >> w;) words.push_back(w);
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  Outcome o;
  const pid_t pid = fork();
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    rlimit cpu{120, 120};
    setrlimit(RLIMIT_CPU, &cpu);
    execv(argv[0], argv.data());
    _exit(127);
  }
  rusage usage{};
  const auto start = std::chrono::steady_clock::now();
  while (wait4(pid, &o.status, WNOHANG, &usage) == 0) {
    if (std::chrono::steady_clock::now() - start > kTimeLimit) {
      o.timed_out = true;
      kill(pid, SIGKILL);
      wait4(pid, &o.status, 0, &usage);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  o.max_rss_kib = usage.ru_maxrss;
  o.output = read_file(log.string());
  return o;
}

class HostileInput : public testing::TestWithParam<HostileCase> {};

TEST_P(HostileInput, RefusedCleanlyWithBoundedMemory) {
  const HostileCase& c = GetParam();
  test::TempDir tmp;
  const fs::path in = tmp.path() / "in", out = tmp.path() / "out";
  fs::create_directories(in);
  fs::create_directories(out);
  fs::copy(hostile_dir() + "/files/" + c.name, in / c.name, fs::copy_options::recursive);
  const auto input_before = listing(in);
  std::string args = replace_all(c.args, "{in}", (in / c.name).string());
  args = replace_all(args, "{out}", out.string());
  args = replace_all(args, "{good}", hostile_dir() + "/files/good");
  args = replace_all(args, "{src}", test::source_dir());

  const Outcome o = run_repro(args, tmp.path() / "log.txt");
  SCOPED_TRACE("repro " + args + "\n" + o.output);
  ASSERT_FALSE(o.timed_out) << "still running after 120 s";
  ASSERT_TRUE(WIFEXITED(o.status)) << "killed by signal " << WTERMSIG(o.status);
  EXPECT_EQ(WEXITSTATUS(o.status), c.exit);
  EXPECT_NE(o.output.find(c.fragment), std::string::npos) << "message lacks '" << c.fragment << "'";
  if (c.exit != 0) {
    EXPECT_NE(o.output.find(c.name), std::string::npos) << "message does not name the file";
  }
  EXPECT_LT(o.max_rss_kib, kRssLimitKib) << "peak RSS " << o.max_rss_kib << " KiB";
  EXPECT_EQ(listing(in), input_before) << "the input was changed";
  if (c.exit != 0) {
    EXPECT_TRUE(listing(out).empty()) << "a failed command left output behind";
  }
}

INSTANTIATE_TEST_SUITE_P(Corpus, HostileInput, testing::ValuesIn(load_cases()),
                         [](const testing::TestParamInfo<HostileCase>& param_info) {
                           std::string n = param_info.param.name;
                           for (char& ch : n)
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return n;
                         });

TEST(HostileCorpus, CoversEveryReaderWithAtLeastSixtyFiles) {
  const auto cases = load_cases();
  EXPECT_GE(cases.size(), 60u);
  for (const char* prefix : {"pt_", "npy_", "npz_", "ref_", "packed_", "img_", "cifar_", "idx_", "imagenet32_", "lsun_",
                             "yaml_", "model_"}) {
    size_t n = 0;
    for (const auto& c : cases) n += starts_with(c.name, prefix);
    EXPECT_GE(n, 2u) << prefix;
  }
}

}  // namespace
}  // namespace repro
