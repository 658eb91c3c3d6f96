// Reports built from a store filled by the test: layout, seeds, picks, verdicts, bold, warnings,
// and the golden output of every format (REPRO_UPDATE_GOLDEN=1 rewrites tests/reports/golden/).
#include "reports/report.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "base/util/errors.h"
#include "reports/render.h"
#include "tests/reports/report_fixture.h"

namespace repro::test {
namespace {

using reports::Verdict;

const char* const kSpec = R"yaml(
tables:
  - id: table3
    title: "Table 3: ADM vs ADM-IP by sampling steps"
    rows: [steps]
    columns: [dataset, method, metric]
    metrics: [fid, sfid]
    labels:
      method: {adm: ADM, adm-ip: ADM-IP}
      dataset: {cifar10: "CIFAR10 32x32"}
    tolerance:
      default: {relative: 0.05}
      fid: {absolute: 0.3}
    published:
      source: "Ning et al., ICML 2023, Table 3"
      num_samples: 1000
      values:
        - {steps: 1000, dataset: cifar10, method: adm, fid: 2.99, sfid: 4.76}
        - {steps: 1000, dataset: cifar10, method: adm-ip, fid: 2.76, sfid: 4.05}
        - {steps: 100, dataset: cifar10, method: adm, fid: 3.37, sfid: 5.66}
        - {steps: 100, dataset: cifar10, method: adm-ip, fid: 2.70, sfid: 4.51}
  - id: curve
    title: FID by training iteration (100 steps)
    rows: [iteration]
    columns: [method]
    metrics: [fid]
    where: {steps: 100}
    best: row
)yaml";

std::vector<FakeResult> golden_results() {
  return {
      {"adm", "0", 1000, 100, {{"fid", 3.40}, {"sfid", 5.60}}},
      {"adm", "0", 500, 100, {{"fid", 4.00}, {"sfid", 6.00}}},
      {"adm", "1", 1000, 100, {{"fid", 3.50}, {"sfid", 5.80}}},
      {"adm", "1", 500, 100, {{"fid", 4.20}, {"sfid", 6.20}}},
      {"adm-ip", "0", 1000, 100, {{"fid", 2.20}, {"sfid", 4.50}}},
      {"adm-ip", "0", 500, 100, {{"fid", 3.00}, {"sfid", 5.00}}},
      {"adm-ip", "0", 1000, 1000, {{"fid", 3.50}}},
      {"adm-ip", "0", 1000, 1000, {{"sfid", 4.10}}, /*comparable=*/false},
      {"adm-ip", "1", 1000, 100, {{"fid", 2.30}, {"sfid", 4.60}}},
      {"adm-ip", "1", 500, 100, {{"fid", 3.10}, {"sfid", 5.10}}},
      {"adm-ip", "1", 1000, 1000, {{"fid", 3.60}}},
      {"adm-ip", "1", 1000, 1000, {{"sfid", 4.20}}, false},
  };
}

struct Golden {
  TempDir dir;
  runner::Store store{dir.file("repro.db")};
  reports::Report report;
  Golden() {
    fill_store(store, "golden", golden_results(), dir.path().string());
    // Results of different sample tasks share one result id only per settings; the comparable
    // flag is per metric row, as the store allows.
    runner::put_provenance(store, "adm-ip-s1", "", {{"git_commit", "fedcba9876543210fedc"}});
    reports::ReportInput in;
    in.experiment = "golden";
    in.description = "ADM vs ADM-IP, two seeds (test fixture)";
    in.file = "experiments/golden.yaml";
    in.axes = {{"dataset", {"cifar10"}}, {"method", {"adm", "adm-ip"}}, {"seed", {"0", "1"}}};
    in.spec = spec_from(kSpec);
    report = reports::build_report(store, in);
  }
};

const reports::CellResult& cell(const reports::TableResult& t, size_t r, const std::string& method,
                                const std::string& metric) {
  for (size_t c = 0; c < t.column_keys.size(); ++c)
    if (t.cells[r][c].dims.at("method") == method && t.cells[r][c].metric == metric) return t.cells[r][c];
  throw std::runtime_error("no cell " + method + " " + metric);
}

TEST(Report, LayoutFollowsTheSpecAndThePublishedOrder) {
  Golden g;
  ASSERT_EQ(g.report.tables.size(), 2u);
  const auto& t = g.report.tables[0];
  ASSERT_EQ(t.row_keys.size(), 2u);
  EXPECT_EQ(t.row_keys[0][0], "1000");  // published order: 1000 before 100
  EXPECT_EQ(t.row_keys[1][0], "100");
  ASSERT_EQ(t.column_keys.size(), 4u);  // cifar10 x {adm, adm-ip} x {fid, sfid}
  EXPECT_EQ(t.column_keys[0], (std::vector<std::string>{"cifar10", "adm", "fid"}));
  EXPECT_EQ(t.column_keys[3], (std::vector<std::string>{"cifar10", "adm-ip", "sfid"}));
}

TEST(Report, SeedsAreAveragedAndTheLastIterationIsPicked) {
  Golden g;
  const auto& t = g.report.tables[0];
  const auto& c = cell(t, 1, "adm", "fid");
  ASSERT_TRUE(c.ours);
  EXPECT_EQ(c.ours->n, 2);
  EXPECT_NEAR(c.ours->mean, 3.45, 1e-12);
  EXPECT_NEAR(c.ours->std, std::sqrt(0.005), 1e-12);
  EXPECT_EQ(c.picked.at("iteration"), "1000");
  EXPECT_EQ(c.runs, (std::vector<std::string>{"adm-s0", "adm-s1"}));
}

TEST(Report, ARunEvaluatedTwiceInACellCountsAsOneSeed) {
  TempDir dir;
  runner::Store store{dir.file("repro.db")};
  fill_store(store, "twice", {{"adm", "0", 1000, 100, {{"fid", 3.0}}}}, dir.path().string());
  // A second eval task of the same samples (an eval rerun with another spec): same run, same cell.
  runner::put_task(store, {"adm-s0-eval-again", "adm-s0", runner::TaskKind::kEval,
                           R"({"samples_of": "adm-s0-sample-1000-100", "metrics": ["fid"]})"});
  runner::put_result(store, {"adm-s0-eval-again", "adm-s0", "adm-s0-eval-again", "fid", 3.5,
                             R"({"comparable_with_published": true})"});
  reports::ReportInput in;
  in.experiment = "twice";
  in.axes = {{"dataset", {"cifar10"}}, {"method", {"adm"}}, {"seed", {"0"}}};
  in.spec = spec_from("tables:\n  - id: t\n    rows: [steps]\n    columns: [method, metric]\n    metrics: [fid]\n");
  const auto report = reports::build_report(store, in);
  const auto& c = cell(report.tables.at(0), 0, "adm", "fid");
  ASSERT_TRUE(c.ours);
  EXPECT_EQ(c.ours->n, 1);
  EXPECT_DOUBLE_EQ(c.ours->mean, 3.5);  // the later result id ("...-eval-again" > "...-eval-1000-100")
}

TEST(Report, VerdictsOfEachKind) {
  Golden g;
  const auto& t = g.report.tables[0];
  EXPECT_EQ(cell(t, 1, "adm", "fid").verdict, Verdict::kReproduced);         // 3.45 vs 3.37, abs 0.3
  EXPECT_EQ(cell(t, 1, "adm-ip", "fid").verdict, Verdict::kBetter);          // 2.25 vs 2.70
  EXPECT_EQ(cell(t, 1, "adm-ip", "sfid").verdict, Verdict::kReproduced);     // 4.55 vs 4.51, rel 0.05
  EXPECT_EQ(cell(t, 0, "adm-ip", "fid").verdict, Verdict::kWorse);           // 3.55 vs 2.76
  EXPECT_EQ(cell(t, 0, "adm-ip", "sfid").verdict, Verdict::kNotComparable);  // random-weight features
  EXPECT_EQ(cell(t, 0, "adm", "fid").verdict, Verdict::kMissing);
  EXPECT_NEAR(*cell(t, 1, "adm", "fid").difference, 0.08, 1e-12);
}

TEST(Report, BestIsBoldPerColumnOrRow) {
  Golden g;
  const auto& curve = g.report.tables[1];  // best: row, lower FID
  ASSERT_EQ(curve.row_keys.size(), 2u);
  EXPECT_EQ(curve.row_keys[0][0], "500");
  EXPECT_FALSE(curve.cells[0][0].best);
  EXPECT_TRUE(curve.cells[0][1].best);
  EXPECT_TRUE(curve.cells[1][1].best);
  EXPECT_NEAR(curve.cells[0][0].ours->mean, 4.1, 1e-12);
}

TEST(Report, WarnsWhenTheRunsOfACellDifferInProvenance) {
  Golden g;
  const auto& t = g.report.tables[0];
  const auto& c = cell(t, 1, "adm-ip", "fid");
  ASSERT_EQ(c.warnings.size(), 1u);
  EXPECT_NE(c.warnings[0].find("git_commit differs: 0123456789abcdef0123 | fedcba9876543210fedc"), std::string::npos);
  EXPECT_TRUE(cell(t, 1, "adm", "fid").warnings.empty());
  EXPECT_FALSE(g.report.warnings.empty());
}

TEST(Report, TaskProvenanceDiffersOnlyAgainstTheSameKindOfTask) {
  TempDir dir;
  runner::Store store(dir.file("repro.db"));
  fill_store(store, "p", {{"adm", "0", 100, 10, {{"fid", 3.0}}}, {"adm", "1", 100, 10, {{"fid", 3.2}}}},
             dir.path().string());
  // Trained on a GPU, evaluated on the CPU: one run, not a difference.
  runner::put_provenance(store, "adm-s0", "adm-s0-train", {{"device", "cuda:0"}, {"libtorch_version", "2.1.0"}});
  runner::put_provenance(store, "adm-s1", "adm-s1-train", {{"device", "cuda:0"}, {"libtorch_version", "2.1.0"}});
  runner::put_provenance(store, "adm-s0", "adm-s0-eval-100-10", {{"device", "cpu"}});
  reports::ReportInput in;
  in.experiment = "p";
  in.spec = spec_from("tables:\n  - {id: t, rows: [method], metrics: [fid]}\n");
  EXPECT_TRUE(reports::build_report(store, in).tables[0].cells[0][0].warnings.empty());
  // The second seed's training used another LibTorch.
  runner::put_provenance(store, "adm-s1", "adm-s1-train", {{"libtorch_version", "2.2.0"}});
  const auto w = reports::build_report(store, in).tables[0].cells[0][0].warnings;
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0], "libtorch_version differs in train tasks: 2.1.0 | 2.2.0");
}

TEST(Report, ProvenanceAppendixHasWallTimeAndGpuHours) {
  Golden g;
  ASSERT_EQ(g.report.provenance.size(), 4u);
  const auto& first = g.report.provenance[0];
  EXPECT_EQ(first.run_id, "adm-s0");
  EXPECT_EQ(first.entries.at("libtorch_version"), "1.13.1");
  ASSERT_TRUE(first.wall_seconds);
  EXPECT_DOUBLE_EQ(*first.wall_seconds, 3600.0);
  ASSERT_TRUE(first.gpu_hours);
  EXPECT_DOUBLE_EQ(*first.gpu_hours, 1.0);
  EXPECT_FALSE(g.report.provenance[1].gpu_hours);  // seed 1 ran without a GPU
}

TEST(Report, CurvesOfFidAndLoss) {
  Golden g;
  // FID and sFID against iterations (two iterations per method in the fixture).
  ASSERT_EQ(g.report.fid_curves.size(), 2u);
  EXPECT_GE(g.report.fid_curves[0].series.size(), 2u);  // one line per method (and steps)
  // Loss of four runs: one line per method, a band over its two seeds.
  ASSERT_EQ(g.report.loss_curves.size(), 1u);
  EXPECT_EQ(g.report.loss_curves[0].series.size(), 2u);
  EXPECT_EQ(g.report.loss_curves[0].series[0].points.size(), 11u);
}

TEST(Report, NoResultsIsAClearError) {
  TempDir dir;
  runner::Store store(dir.file("repro.db"));
  runner::put_experiment(store, {"empty", "experiments/empty.yaml", std::string(64, 'a')});
  reports::ReportInput in;
  in.experiment = "empty";
  const std::string msg = error_message([&] { reports::build_report(store, in); });
  EXPECT_NE(msg.find("experiment 'empty' has no results"), std::string::npos) << msg;
  EXPECT_THROW(reports::build_report(store, in), ConfigError);
}

TEST(Report, WithoutAReportSectionOneDefaultTable) {
  TempDir dir;
  runner::Store store(dir.file("repro.db"));
  fill_store(store, "plain", golden_results(), dir.path().string());
  reports::ReportInput in;
  in.experiment = "plain";
  auto r = reports::build_report(store, in);
  ASSERT_EQ(r.tables.size(), 1u);
  EXPECT_EQ(r.tables[0].spec.rows, (std::vector<std::string>{"dataset", "method", "iteration", "steps"}));
  EXPECT_EQ(r.tables[0].spec.columns, (std::vector<std::string>{"metric"}));
  EXPECT_EQ(r.tables[0].row_keys.size(), 5u);  // adm: 2 iterations x 100 steps; adm-ip: and 1000 steps once
}

TEST(ReportGolden, Markdown) {
  Golden g;
  expect_golden("report.md", reports::render(g.report, reports::Format::kMarkdown));
}
TEST(ReportGolden, Latex) {
  Golden g;
  expect_golden("report.tex", reports::render(g.report, reports::Format::kLatex));
}
TEST(ReportGolden, Csv) {
  Golden g;
  expect_golden("report.csv", reports::render(g.report, reports::Format::kCsv));
}
TEST(ReportGolden, Json) {
  Golden g;
  expect_golden("report.json", reports::render(g.report, reports::Format::kJson));
}
TEST(ReportGolden, Html) {
  Golden g;
  expect_golden("report.html", reports::render(g.report, reports::Format::kHtml));
}

}  // namespace
}  // namespace repro::test
