// train.keep through the binary on a tiny experiment (tests/support/tiny_project.h trained to 6
// steps, a checkpoint every 2, step 2 sampled): `repro run` prunes as it trains, and `repro gc`
// cleans a run trained with keep: all once the experiment no longer asks for it. The files left
// are written out by hand; the freed bytes are summed from the files on disk before.
#include <gtest/gtest.h>
#include <sys/file.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "tests/support/test_support.h"
#include "tests/support/tiny_project.h"

using namespace repro;
namespace fs = std::filesystem;

namespace {

// After `prefix` in `out`: " (N UNIT)", N in fixed notation (runner::bytes_text: never an
// exponent), which read back is `bytes` to within its rounding to three significant digits.
void expect_readable_bytes(const std::string& out, const std::string& prefix, uintmax_t bytes) {
  std::smatch m;
  ASSERT_TRUE(std::regex_search(out, m, std::regex(prefix + R"( \(([0-9]+(\.[0-9]+)?) (B|KiB|MiB|GiB)\) )"))) << out;
  const std::vector<std::string> units = {"B", "KiB", "MiB", "GiB"};
  const double scale = std::pow(1024.0, std::find(units.begin(), units.end(), m[3].str()) - units.begin());
  EXPECT_NEAR(std::stod(m[1].str()) * scale, static_cast<double>(bytes), 0.01 * static_cast<double>(bytes)) << out;
}

std::string six_step_experiment() {
  std::string text = test::kTinyExperiment;
  const std::string two = "iterations: 2, save_interval: 2";
  text.replace(text.find(two), two.size(), "iterations: 6, save_interval: 2");
  return text;
}

// Writes data.npz, ref.npz and exp.yaml into `dir`.
void write_experiment(const test::TempDir& dir) {
  ASSERT_EQ(test::run_python("import numpy as np\nrng = np.random.default_rng(0)\n"
                             "np.savez('data.npz', rng.integers(0, 256, (16, 8, 8, 3), dtype=np.uint8))\n"
                             "np.savez('ref.npz', rng.integers(0, 256, (10, 8, 8, 3), dtype=np.uint8))\n",
                             dir.path()),
            0);
  std::ofstream(dir.file("exp.yaml")) << six_step_experiment();
}

// The checkpoints folder of the project's one run.
fs::path checkpoints_of(const std::string& project) {
  for (const auto& e : fs::directory_iterator(fs::path(project) / "runs")) return e.path() / "checkpoints";
  return {};
}

std::set<std::string> names_in(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.insert(e.path().filename());
  return names;
}

// The files of step k ("000004"): its model and EMA, or the whole checkpoint; each with its .sha256.
std::set<std::string> files_at(const std::string& k, bool whole) {
  std::set<std::string> out;
  for (const std::string& n :
       {"model" + k + ".pt", "ema_0.9999_" + k + ".pt", "opt" + k + ".pt", "state" + k + ".json"}) {
    if (!whole && (n[0] == 'o' || n[0] == 's')) continue;
    out.insert(n);
    out.insert(n + ".sha256");
  }
  return out;
}

std::set<std::string> operator+(std::set<std::string> a, const std::set<std::string>& b) {
  a.insert(b.begin(), b.end());
  return a;
}

// Model and EMA at the sampled step 2 and the latest 6; optimizer and state at 6 only.
std::set<std::string> kept() { return files_at("000002", false) + files_at("000006", true); }

}  // namespace

TEST(GcCli, RunPrunesAsItTrains) {
  test::TempDir dir;
  write_experiment(dir);
  std::string out;
  ASSERT_EQ(test::repro_cli("run " + dir.file("exp.yaml") + " --project " + dir.file("p"), &out), 0) << out;
  EXPECT_EQ(names_in(checkpoints_of(dir.file("p"))), kept());
}

TEST(GcCli, GcAppliesTheCurrentPolicyToEarlierCheckpoints) {
  test::TempDir dir;
  write_experiment(dir);
  const std::string project = dir.file("p");
  const std::string run = "run " + dir.file("exp.yaml") + " --project " + project;
  std::string out;
  ASSERT_EQ(test::repro_cli(run + " --set train.keep=all", &out), 0) << out;
  const fs::path ckpt = checkpoints_of(project);
  const auto all = files_at("000002", true) + files_at("000004", true) + files_at("000006", true);
  ASSERT_EQ(names_in(ckpt), all);
  ASSERT_EQ(test::repro_cli("gc --project " + project, &out), 0) << out;
  EXPECT_NE(out.find("total: 0 files, 0 bytes (0 B) freed"), std::string::npos) << out;  // keep: all
  // The same experiment without the --set: everything is done, the train task's spec follows.
  ASSERT_EQ(test::repro_cli(run, &out), 0) << out;
  uintmax_t doomed = 0;
  for (const auto& n : all)
    if (!kept().count(n)) doomed += fs::file_size(ckpt / n);
  const std::string total = "total: 12 files, " + std::to_string(doomed) + " bytes";
  ASSERT_EQ(test::repro_cli("gc --dry-run --project " + project, &out), 0) << out;
  EXPECT_NE(out.find(total), std::string::npos) << out;
  expect_readable_bytes(out, total, doomed);
  EXPECT_EQ(names_in(ckpt), all);
  {  // a `repro run` working in the project: refused, nothing deleted
    const int fd = ::open((fs::path(project) / "repro.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
    EXPECT_NE(test::repro_cli("gc tiny --project " + project, &out), 0) << out;
    EXPECT_NE(out.find("repro.lock"), std::string::npos) << out;
    ::close(fd);
  }
  EXPECT_EQ(names_in(ckpt), all);
  ASSERT_EQ(test::repro_cli("gc tiny --project " + project, &out), 0) << out;
  EXPECT_NE(out.find(total), std::string::npos) << out;
  EXPECT_EQ(names_in(ckpt), kept());
  EXPECT_NE(test::repro_cli("gc nope --project " + project, &out), 0);
}
