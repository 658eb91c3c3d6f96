// The report: section's strict reader: what it accepts, and errors with file:line and key path.
#include "reports/report_spec.h"

#include <gtest/gtest.h>

#include "base/util/errors.h"
#include "tests/reports/report_fixture.h"

namespace repro::test {
namespace {

std::string error_of(const std::string& yaml) {
  return error_message([&] { spec_from(yaml); });
}

TEST(ReportSpec, ReadsTheDocumentedExample) {
  const auto spec = spec_from(R"yaml(
tables:
  - id: table3
    title: "Table 3"
    rows: [steps]
    columns: [dataset, method, metric]
    metrics: [fid, sfid]
    where: {sampler: ancestral}
    pick: {iteration: best}
    labels:
      method: {adm: ADM, adm-ip: ADM-IP}
    best: row
    decimals: 3
    tolerance:
      default: {relative: 0.1}
      fid: {absolute: 0.3}
      sfid: {seeds: 2.0}
    published:
      source: paper
      values:
        - {steps: 1000, dataset: cifar10, method: adm, fid: 2.99, sfid: 4.76}
)yaml");
  ASSERT_EQ(spec.tables.size(), 1u);
  const auto& t = spec.tables[0];
  EXPECT_EQ(t.columns, (std::vector<std::string>{"dataset", "method", "metric"}));
  EXPECT_EQ(t.where.at("sampler"), "ancestral");
  EXPECT_EQ(t.pick.at("iteration"), reports::Pick::kBest);
  EXPECT_EQ(t.best, reports::BestIn::kRow);
  EXPECT_EQ(t.decimals, 3);
  EXPECT_EQ(t.tolerance_for("fid").kind, reports::Tolerance::Kind::kAbsolute);
  EXPECT_EQ(t.tolerance_for("sfid").kind, reports::Tolerance::Kind::kSeeds);
  EXPECT_DOUBLE_EQ(t.tolerance_for("is").amount, 0.1);
  EXPECT_EQ(t.published_num_samples, 50000);
  ASSERT_EQ(t.published.size(), 1u);
  EXPECT_EQ(t.published[0].dims.at("steps"), "1000");
  EXPECT_DOUBLE_EQ(t.published[0].metrics.at("sfid"), 4.76);
  EXPECT_EQ(t.label("method", "adm-ip"), "ADM-IP");
  EXPECT_EQ(t.label("metric", "sfid"), "sFID");
}

TEST(ReportSpec, MetricIsTheInnermostColumnWhenListedNowhere) {
  const auto spec = spec_from("tables:\n  - {id: t, rows: [method], metrics: [fid]}\n");
  EXPECT_EQ(spec.tables[0].columns, (std::vector<std::string>{"metric"}));
  EXPECT_EQ(spec.tables[0].tolerance_for("fid").kind, reports::Tolerance::Kind::kRelative);
  EXPECT_DOUBLE_EQ(spec.tables[0].tolerance_for("fid").amount, 0.05);
}

TEST(ReportSpec, ErrorsNameFileLineAndKeyPath) {
  std::string e = error_of("tables:\n  - id: t\n    rows: [method]\n    metrics: [fid]\n    colour: red\n");
  EXPECT_NE(e.find("golden.yaml:"), std::string::npos) << e;
  EXPECT_NE(e.find("colour"), std::string::npos) << e;

  e = error_of("tables:\n  - id: t\n    rows: [model]\n    metrics: [fid]\n");
  EXPECT_NE(e.find("golden.yaml:3"), std::string::npos) << e;
  EXPECT_NE(e.find("report.tables[0].rows"), std::string::npos) << e;
  EXPECT_NE(e.find("unknown dimension 'model'"), std::string::npos) << e;

  e = error_of("tables:\n  - {id: t, rows: [seed], metrics: [fid]}\n");
  EXPECT_NE(e.find("seed is averaged over"), std::string::npos) << e;

  e = error_of("tables:\n  - {id: t, rows: [method], metrics: [fidd]}\n");
  EXPECT_NE(e.find("unknown metric 'fidd'"), std::string::npos) << e;

  e = error_of(
      "tables:\n  - id: t\n    rows: [method]\n    metrics: [fid]\n    tolerance: {fid: {absolute: 1, relative: 2}}\n");
  EXPECT_NE(e.find("report.tables[0].tolerance.fid"), std::string::npos) << e;
  EXPECT_NE(e.find("exactly one of absolute, relative, seeds"), std::string::npos) << e;

  e = error_of("tables:\n  - {id: t, rows: [method], metrics: [fid]}\n  - {id: t, rows: [method], metrics: [fid]}\n");
  EXPECT_NE(e.find("used twice"), std::string::npos) << e;

  e = error_of(
      "tables:\n  - id: t\n    rows: [method]\n    metrics: [fid]\n    published:\n      values:\n        - {method: "
      "adm, fid: low}\n");
  EXPECT_NE(e.find("report.tables[0].published.values[0].fid"), std::string::npos) << e;
  EXPECT_NE(e.find("golden.yaml:7"), std::string::npos) << e;

  e = error_of("tables:\n  - {id: t, rows: [method], columns: [method], metrics: [fid]}\n");
  EXPECT_NE(e.find("listed twice"), std::string::npos) << e;

  e = error_of("tables:\n  - {id: t, rows: [method], metrics: [fid], best: most}\n");
  EXPECT_NE(e.find("report.tables[0].best"), std::string::npos) << e;

  e = error_of("tables: []\n");
  EXPECT_NE(e.find("report.tables"), std::string::npos) << e;

  e = error_of("table: table3\n");
  EXPECT_NE(e.find("report.tables"), std::string::npos) << e;
  EXPECT_THROW(spec_from("table: table3\n"), ConfigError);
}

}  // namespace
}  // namespace repro::test
