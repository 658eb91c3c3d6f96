// repro results, show and diff through the binary on the store of one tiny `repro run` (one run:
// train, sample, eval with an FID), checked against the store as Python's sqlite3 reads it (the
// v_results view) and against the files on disk.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <memory>

#include "tests/support/test_support.h"
#include "tests/support/tiny_project.h"

using namespace repro;
namespace fs = std::filesystem;

namespace {

using nlohmann::json;
using test::repro_cli;

class InspectCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<test::TempDir>();
    std::string out;
    ASSERT_EQ(test::run_tiny_project(*dir_, project(), &out), 0) << out;
    // What the store holds, as Python's sqlite3 reads it through the view.
    ASSERT_EQ(test::run_python("import json, sqlite3\ndb = sqlite3.connect('proj/repro.db')\n"
                               "rows = db.execute(\"SELECT run_id, value FROM v_results WHERE experiment = 'tiny' "
                               "AND metric = 'fid' AND iteration = 2 AND steps = 5 AND NOT stale\").fetchall()\n"
                               "json.dump([list(r) for r in rows], open('expected.json', 'w'))\n",
                               dir_->path()),
              0);
    expected_ = json::parse(test::read_text(dir_->file("expected.json")));
  }
  static void TearDownTestSuite() { dir_.reset(); }
  void SetUp() override {
    if (!dir_ || expected_.size() != 1) GTEST_SKIP() << "the tiny experiment did not run";
  }

  static std::string project() { return dir_->file("proj"); }
  // Runs `args` in the project; stdout into `*out`, stderr into `*err`.
  static int repro(const std::string& args, std::string* out, std::string* err) {
    // The group keeps stdout in the file when run_command appends 2>&1.
    const int rc = test::run_command(
        "{ '" + test::repro_binary() + "' " + args + " --project " + project() + " > " + dir_->file("stdout") + "; }",
        err);
    *out = test::read_text(dir_->file("stdout"));
    return rc;
  }

  static std::unique_ptr<test::TempDir> dir_;
  static json expected_;  // [[run_id, fid]] from v_results
};

std::unique_ptr<test::TempDir> InspectCli::dir_;
json InspectCli::expected_;

TEST_F(InspectCli, ResultsAsJsonMatchTheView) {
  std::string out, err;
  ASSERT_EQ(repro("results --format json", &out, &err), 0) << err;
  const json rows = json::parse(out);
  ASSERT_EQ(rows.size(), 1u) << out;
  EXPECT_EQ(rows[0]["experiment"], "tiny");
  EXPECT_EQ(rows[0]["run_id"], expected_[0][0]);
  EXPECT_EQ(rows[0]["axes"], json({{"method", "adm"}}));
  EXPECT_EQ(rows[0]["settings"]["iteration"], 2);
  EXPECT_EQ(rows[0]["settings"]["steps"], 5);
  EXPECT_EQ(rows[0]["settings"]["num_samples"], 6);
  EXPECT_EQ(rows[0]["metrics"]["fid"].get<double>(), expected_[0][1].get<double>());

  ASSERT_EQ(repro("results tiny --where method=adm --where steps=5 --format csv", &out, &err), 0) << err;
  EXPECT_EQ(out.substr(0, out.find('\n')),
            "method,run,iteration,steps,sampler,eta,ema,num_samples,eps_scale,start_t,fid");
  EXPECT_EQ(repro("results --where lr=1", &out, &err), 2);
  EXPECT_NE(err.find("unknown key 'lr'"), std::string::npos) << err;
  EXPECT_EQ(repro("results nope", &out, &err), 2);
}

TEST_F(InspectCli, ShowARunByPrefixWithItsFiles) {
  const std::string run_id = expected_[0][0];
  std::string out, err;
  ASSERT_EQ(repro("show " + run_id.substr(0, 4) + " --json", &out, &err), 0) << err;
  const json shown = json::parse(out);
  EXPECT_EQ(shown["run"], run_id);
  EXPECT_EQ(shown["status"], "done");
  ASSERT_EQ(shown["tasks"].size(), 3u);
  int artifacts = 0;
  for (const auto& t : shown["tasks"]) {
    EXPECT_EQ(t["state"], "done") << t.dump();
    EXPECT_TRUE(fs::exists(t["log"].get<std::string>())) << t.dump();
    for (const auto& a : t["artifacts"]) {
      EXPECT_TRUE(fs::exists(a["path"].get<std::string>())) << a.dump();
      ++artifacts;
    }
  }
  EXPECT_GE(artifacts, 1);  // the checkpoint
  EXPECT_EQ(shown["results"][0]["metrics"]["fid"].get<double>(), expected_[0][1].get<double>());

  ASSERT_EQ(repro("show " + run_id + "-e", &out, &err), 0) << err;  // the eval task
  EXPECT_EQ(out.rfind("task " + run_id + "-eval-", 0), 0u) << out;
  EXPECT_EQ(repro("show zzzz", &out, &err), 2);
  EXPECT_NE(err.find("no run or task 'zzzz'"), std::string::npos) << err;
}

TEST_F(InspectCli, DiffOfARunWithItself) {
  const std::string run_id = expected_[0][0];
  std::string out, err;
  ASSERT_EQ(repro("diff " + run_id + " " + run_id.substr(0, 6), &out, &err), 0) << err;
  EXPECT_NE(out.find("config: identical\n"), std::string::npos) << out;
  EXPECT_NE(out.find("(+0)"), std::string::npos) << out;
}

}  // namespace
