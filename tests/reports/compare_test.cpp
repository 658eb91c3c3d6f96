// repro compare: movements against a baseline, exit codes, JUnit content, bad baselines; and
// repro report's command body (store and experiment lookup, formats, output files).
#include "reports/baseline_compare.h"

#include <gtest/gtest.h>

#include <sstream>

#include "base/util/errors.h"
#include "base/util/exit_code.h"
#include "reports/render.h"
#include "reports/report_command.h"
#include "tests/reports/report_fixture.h"

namespace repro::test {
namespace {

using nlohmann::json;
using reports::Movement;

// A project directory with a store of experiment "ci" and its experiment file.
struct Project {
  TempDir dir;
  std::string db = dir.file("repro.db");
  explicit Project(double adm_fid = 3.0, bool with_adm_ip = true) {
    runner::Store store(db);
    std::vector<FakeResult> r = {{"adm", "0", 100, 10, {{"fid", adm_fid}, {"sfid", 5.0}}}};
    if (with_adm_ip) r.push_back({"adm-ip", "0", 100, 10, {{"fid", 2.5}, {"sfid", 4.0}}});
    fill_store(store, "ci", r, dir.path().string());
    std::filesystem::create_directories(dir.path() / "experiments");
    write_file_atomic(dir.file("experiments/ci.yaml"), R"yaml(name: ci
base: {}
matrix:
  dataset: [{name: cifar10, data: {path: data/cifar10}}]
  method:
    - {name: adm, train: {method: adm}}
    - {name: adm-ip, train: {method: adm-ip, gamma: 0.1}}
seeds: [0]
report:
  tables:
    - {id: main, rows: [method], metrics: [fid, sfid]}
)yaml");
  }
  reports::StoreLocation where() const { return {dir.path().string(), ""}; }
};

json baseline_of(const Project& p) {
  std::ostringstream out, err;
  reports::CompareArgs a;
  a.where = p.where();
  a.experiment = "ci";
  a.write_baseline = p.dir.file("baseline.json");
  EXPECT_EQ(reports::compare_command(a, out, err), 0);
  return json::parse(read_file(a.write_baseline));
}

int compare(const Project& p, const json& baseline, std::string* text, std::vector<std::string> tolerance = {},
            std::string* junit = nullptr) {
  write_file_atomic(p.dir.file("b.json"), baseline.dump());
  reports::CompareArgs a;
  a.where = p.where();
  a.baseline = p.dir.file("b.json");
  a.tolerance = std::move(tolerance);
  a.junit = p.dir.file("junit.xml");
  std::ostringstream out, err;
  const int code = reports::compare_command(a, out, err);
  if (text) *text = out.str();
  if (junit) *junit = read_file(a.junit);
  return code;
}

TEST(Compare, SameValuesPassAndTheBaselineIsTheReportJson) {
  Project p;
  const json b = baseline_of(p);
  EXPECT_EQ(b["format"], "repro-report");
  EXPECT_EQ(b["version"], 1);
  EXPECT_EQ(b["experiment"], "ci");
  EXPECT_EQ(b["values"].size(), 4u);
  std::string text, junit;
  EXPECT_EQ(compare(p, b, &text, {}, &junit), 0);
  EXPECT_NE(text.find("4 values compared: 4 within tolerance, 0 improved, 0 regressed, 0 missing: ok"),
            std::string::npos)
      << text;
  EXPECT_NE(junit.find("<testsuite name=\"ci\" tests=\"4\" failures=\"0\""), std::string::npos) << junit;
  EXPECT_NE(junit.find("<testcase classname=\"ci.main.fid\" name=\"method=adm\">"), std::string::npos) << junit;
}

TEST(Compare, RegressionBeyondToleranceFailsWithExitCode8) {
  Project base(3.0);
  const json b = baseline_of(base);
  Project worse(3.2);  // +6.7 %: beyond the default relative 0.05
  std::string text, junit;
  EXPECT_EQ(compare(worse, b, &text, {}, &junit), to_int(ExitCode::kRegression));
  EXPECT_NE(text.find("main fid [method=adm]: 3 -> 3.2 (+0.2000; tolerance relative 0.05): regressed"),
            std::string::npos)
      << text;
  EXPECT_NE(junit.find("failures=\"1\""), std::string::npos);
  EXPECT_NE(junit.find("<failure message=\"regressed\" type=\"regressed\">main fid [method=adm]: 3 -&gt; 3.2"),
            std::string::npos)
      << junit;
  // Within a wider tolerance, or an absolute one for fid only.
  EXPECT_EQ(compare(worse, b, &text, {"rel:0.1"}), 0);
  EXPECT_EQ(compare(worse, b, &text, {"fid=abs:0.2"}), 0);  // boundary: exactly 0.2 is within
  EXPECT_EQ(compare(worse, b, &text, {"fid=abs:0.19"}), to_int(ExitCode::kRegression));
}

TEST(Compare, ImprovementPassesAndMissingValueFails) {
  Project base(3.0);
  const json b = baseline_of(base);
  std::string text;
  Project better(2.0);
  EXPECT_EQ(compare(better, b, &text), 0);
  EXPECT_NE(text.find("improved"), std::string::npos);
  Project missing(3.0, /*with_adm_ip=*/false);
  std::string junit;
  EXPECT_EQ(compare(missing, b, &text, {}, &junit), to_int(ExitCode::kRegression));
  EXPECT_NE(text.find("main fid [method=adm-ip]: missing (baseline 2.5)"), std::string::npos) << text;
  EXPECT_NE(junit.find("<failure message=\"missing\""), std::string::npos);
}

TEST(Compare, AnExperimentWithoutResultsMissesEveryValue) {
  Project p;
  const json b = baseline_of(p);
  TempDir other;
  {
    runner::Store store(other.file("repro.db"));
    runner::put_experiment(store, {"ci", "experiments/ci.yaml", std::string(64, 'a')});
  }
  write_file_atomic(other.file("b.json"), b.dump());
  reports::CompareArgs a;
  a.where = {other.path().string(), ""};
  a.baseline = other.file("b.json");
  a.junit = other.file("junit.xml");
  std::ostringstream out, err;
  EXPECT_EQ(reports::compare_command(a, out, err), to_int(ExitCode::kRegression));
  EXPECT_NE(out.str().find("4 values compared: 0 within tolerance, 0 improved, 0 regressed, 4 missing: FAILED"),
            std::string::npos)
      << out.str();
  EXPECT_NE(read_file(a.junit).find("failures=\"4\""), std::string::npos);
}

TEST(Compare, BadBaselinesAreConfigErrors) {
  Project p;
  json b = baseline_of(p);
  auto refused = [&](const json& bad, const std::string& expected) {
    const std::string msg = error_message([&] { compare(p, bad, nullptr); });
    EXPECT_NE(msg.find(expected), std::string::npos) << msg;
    EXPECT_THROW(compare(p, bad, nullptr), ConfigError);
  };
  json other = b;
  other["experiment"] = "table3";
  refused(other, "a baseline of experiment 'table3', not of 'ci'");
  json old = b;
  old["version"] = 0;
  refused(old, "baseline format version 0; this repro reads version 1");
  refused(json{{"hello", 1}}, "not a repro report baseline");
  refused(json{{"format", "repro-report"}, {"placeholder", true}, {"message", "record it on the GPU runner"}},
          "a placeholder, not a recorded baseline: record it on the GPU runner");
  json empty = b;
  empty["values"] = json::array();
  refused(empty, "holds no values");
  EXPECT_THROW(reports::parse_compare_tolerance({"fid=pct:3"}), ConfigError);
  EXPECT_THROW(reports::parse_compare_tolerance({"fidd=abs:3"}), ConfigError);
  const auto t = reports::parse_compare_tolerance({"0.1,fid=abs:0.5"});
  EXPECT_DOUBLE_EQ(t.for_metric("sfid").amount, 0.1);
  EXPECT_EQ(t.for_metric("fid").kind, reports::Tolerance::Kind::kAbsolute);
}

TEST(ReportCommand, FindsTheExperimentAndItsFileAndWritesEveryFormat) {
  Project p;
  // The store records experiments/ci.yaml, relative to the project directory.
  for (const std::string format : {"markdown", "latex", "csv", "html", "json"}) {
    reports::ReportArgs a;
    a.where = p.where();
    a.format = format;
    a.out = p.dir.file("report." + format);
    std::ostringstream out, err;
    EXPECT_EQ(reports::report_command(a, out, err), 0);
    EXPECT_TRUE(out.str().empty());
    EXPECT_FALSE(read_file(a.out).empty()) << format;
  }
  const std::string md = read_file(p.dir.file("report.markdown"));
  EXPECT_NE(md.find("## main"), std::string::npos) << md;
  // The stored sha256 is not the file's: the report warns that the file changed.
  EXPECT_NE(md.find("changed since it was last run"), std::string::npos) << md;
}

TEST(ReportCommand, BadInput) {
  Project p;
  std::ostringstream out, err;
  reports::ReportArgs a;
  a.where = p.where();
  a.format = "docx";
  EXPECT_NE(error_message([&] { reports::report_command(a, out, err); }).find("unknown format 'docx'"),
            std::string::npos);
  a.format = "markdown";
  a.experiment = "nope";
  EXPECT_NE(error_message([&] { reports::report_command(a, out, err); }).find("no experiment 'nope'"),
            std::string::npos);
  a.experiment = "";
  a.where.db = p.dir.file("other.db");
  EXPECT_NE(error_message([&] { reports::report_command(a, out, err); }).find("no store here"), std::string::npos);
  EXPECT_THROW(reports::report_command(a, out, err), ConfigError);
  {
    runner::Store store(p.dir.file("other.db"));
    runner::put_experiment(store, {"ci", p.dir.file("experiments/ci.yaml"), std::string(64, 'a')});
  }
  EXPECT_NE(error_message([&] { reports::report_command(a, out, err); }).find("has no results"), std::string::npos);
}

}  // namespace
}  // namespace repro::test
