// Issue 16 ("Trust"): runs of an earlier expansion of an experiment (its file's train.lr changed
// from 10 to 20, then `repro run` again) must not be averaged into a cell with the current runs.
// The store is filled as two `repro run`s fill it: the runs, their results, and each run's
// current expansion. Truth: the values put, and their mean and sample standard deviation by hand.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/util/errors.h"
#include "reports/render.h"
#include "reports/report.h"
#include "store/records.h"
#include "tests/reports/report_fixture.h"
#include "tests/store/store_fixture.h"

namespace repro::test {
namespace {

using nlohmann::json;

// One run of the cell method=adm at `seed`, trained with `lr`, whose eval gave `fid`. Run id
// "lr<lr>-s<seed>".
std::string put_adm_run(runner::Store& store, double lr, int seed, double fid) {
  std::string run = "lr" + reports::format_number(lr) + "-s" + std::to_string(seed);
  runner::put_experiment(store, {"exp", "experiments/exp.yaml", std::string(64, 'a')});
  const json axes = {{"method", "adm"}, {"seed", std::to_string(seed)}};
  const json config = {{"model", {{"num_channels", 32}}}, {"train", {{"lr", lr}, {"seed", seed}}}};
  runner::put_run(store, {run, "exp", axes.dump(), seed, config.dump(), "/runs/" + run});
  const std::string sample = run + "-sample", eval = run + "-eval";
  const json sample_spec = {{"checkpoint_step", 100}, {"steps", 50}, {"num_samples", 4096}, {"seed", seed}};
  runner::put_task(store, {sample, run, runner::TaskKind::kSample, sample_spec.dump()});
  runner::put_task(store, {eval, run, runner::TaskKind::kEval, json{{"samples_of", sample}}.dump()});
  runner::put_result(store, {eval, run, eval, "fid", fid, R"({"comparable_with_published":true})"});
  return run;
}

reports::ReportInput input(bool include_stale = false) {
  reports::ReportInput in;
  in.experiment = "exp";
  in.axes = {{"method", {"adm"}}, {"seed", {"0", "1"}}};
  in.sample_grids = false;
  in.include_stale = include_stale;
  return in;
}

const char* const kLeftOut =
    "1 run of earlier expansions of 'exp' left out (stale); `repro report --include-stale` shows them";

bool has(const std::vector<std::string>& list, const std::string& text) {
  for (const auto& s : list)
    if (s.find(text) != std::string::npos) return true;
  return false;
}

// The issue's store: `repro run` with train.lr 10 (run lr10-s0, FID 10), then with 20 (lr20-s0,
// FID 20), the same cell of the matrix.
struct TwoExpansions {
  TempDir dir;
  FakeClock clock;
  runner::Store store{dir.file("repro.db"), options_with(&clock)};
  TwoExpansions() {
    put_adm_run(store, 10, 0, 10.0);
    runner::set_current_expansion(store, "exp", {"lr10-s0"});
    clock.now += 3600;
    put_adm_run(store, 20, 0, 20.0);
    runner::set_current_expansion(store, "exp", {"lr20-s0"});
  }
};

TEST(StaleReport, WithoutAnExpansionListTheConfigsStillKeepTheRunsApart) {
  // Runs put without `repro run` (no expansion list) are all current; the issue's two runs differ
  // in train.lr beyond their seed, so they are still not averaged (15 +- 7.07 with n = 2 was the
  // defect): the later put stands, and the cell says why.
  TempDir dir;
  FakeClock clock;
  runner::Store store(dir.file("repro.db"), options_with(&clock));
  put_adm_run(store, 10, 0, 10.0);
  clock.now += 60;
  put_adm_run(store, 20, 0, 20.0);
  const auto r = reports::build_report(store, input());
  ASSERT_EQ(r.tables.size(), 1u);
  ASSERT_EQ(r.tables[0].cells.size(), 1u);
  const auto& cell = r.tables[0].cells[0][0];
  ASSERT_TRUE(cell.ours);
  EXPECT_EQ(cell.ours->n, 1);
  EXPECT_DOUBLE_EQ(cell.ours->mean, 20.0);
  EXPECT_TRUE(has(cell.warnings, "configs differ beyond train.seed in train.lr"));
  EXPECT_FALSE(has(r.warnings, "stale"));
}

TEST(StaleReport, TheReportShowsTheCurrentRunAloneAndCountsTheStaleOne) {
  TwoExpansions s;
  const auto r = reports::build_report(s.store, input());
  ASSERT_EQ(r.tables.size(), 1u);
  const auto& t = r.tables[0];
  ASSERT_EQ(t.row_keys, (std::vector<std::vector<std::string>>{{"adm"}}));
  const auto& cell = t.cells[0][0];
  ASSERT_TRUE(cell.ours);
  EXPECT_EQ(cell.ours->n, 1);
  EXPECT_DOUBLE_EQ(cell.ours->mean, 20.0);
  EXPECT_EQ(cell.runs, (std::vector<std::string>{"lr20-s0"}));
  EXPECT_TRUE(cell.warnings.empty());
  EXPECT_TRUE(has(r.warnings, kLeftOut)) << ::testing::PrintToString(r.warnings);
  // The appendix lists the current run only.
  ASSERT_EQ(r.provenance.size(), 1u);
  EXPECT_EQ(r.provenance[0].run_id, "lr20-s0");
  const std::string md = reports::render(r, reports::Format::kMarkdown);
  EXPECT_EQ(md.find("15.0"), std::string::npos) << md;
  EXPECT_EQ(md.find("7.07"), std::string::npos) << md;
  // What `repro compare` reads: one value, the current run's.
  const json values = reports::report_json(r)["values"];
  ASSERT_EQ(values.size(), 1u);
  EXPECT_EQ(values[0]["mean"], 20.0);
  EXPECT_EQ(values[0]["n"], 1);
}

TEST(StaleReport, IncludeStaleShowsTheStaleRunInARowOfItsOwnMarked) {
  TwoExpansions s;
  const auto r = reports::build_report(s.store, input(true));
  ASSERT_EQ(r.tables.size(), 1u);
  const auto& t = r.tables[0];
  ASSERT_EQ(t.row_keys, (std::vector<std::vector<std::string>>{{"adm"}, {"adm (stale)"}}));
  ASSERT_EQ(t.column_keys, (std::vector<std::vector<std::string>>{{"fid"}}));
  const auto& current = t.cells[0][0];
  const auto& stale = t.cells[1][0];
  ASSERT_TRUE(current.ours && stale.ours);
  EXPECT_DOUBLE_EQ(current.ours->mean, 20.0);
  EXPECT_EQ(current.ours->n, 1);
  EXPECT_DOUBLE_EQ(stale.ours->mean, 10.0);
  EXPECT_EQ(stale.ours->n, 1);
  EXPECT_EQ(stale.runs, (std::vector<std::string>{"lr10-s0"}));
  EXPECT_TRUE(has(stale.warnings, "earlier expansion (stale)"));
  EXPECT_FALSE(stale.best);
  EXPECT_FALSE(has(r.warnings, "left out"));
  EXPECT_TRUE(has(r.warnings, "1 run of earlier expansions of 'exp' shown in rows marked (stale)"));
  ASSERT_EQ(r.provenance.size(), 2u);
  const std::string md = reports::render(r, reports::Format::kMarkdown);
  EXPECT_NE(md.find("| adm (stale) |"), std::string::npos) << md;
}

TEST(StaleReport, OnlyStaleResultsAreNoResultsUnlessIncludeStale) {
  TempDir dir;
  FakeClock clock;
  runner::Store store(dir.file("repro.db"), options_with(&clock));
  put_adm_run(store, 10, 0, 10.0);
  runner::set_current_expansion(store, "exp", {"lr20-s0"});  // the new run has no result yet
  const std::string message = error_message([&] { reports::build_report(store, input()); });
  EXPECT_NE(message.find("has no results"), std::string::npos) << message;
  EXPECT_NE(message.find("--include-stale"), std::string::npos) << message;
  const auto r = reports::build_report(store, input(true));
  ASSERT_EQ(r.tables.at(0).row_keys, (std::vector<std::vector<std::string>>{{"adm (stale)"}}));
  EXPECT_DOUBLE_EQ(r.tables[0].cells[0][0].ours->mean, 10.0);
}

TEST(StaleReport, CurrentRunsThatDifferBeyondTheSeedAreNotAveraged) {
  TempDir dir;
  FakeClock clock;
  runner::Store store(dir.file("repro.db"), options_with(&clock));
  // Two seeds of one config average: (4 + 6) / 2, std sqrt(2).
  put_adm_run(store, 20, 0, 4.0);
  put_adm_run(store, 20, 1, 6.0);
  {
    const auto r = reports::build_report(store, input());
    const auto& cell = r.tables.at(0).cells.at(0).at(0);
    EXPECT_EQ(cell.ours->n, 2);
    EXPECT_DOUBLE_EQ(cell.ours->mean, 5.0);
    EXPECT_NEAR(cell.ours->std, 1.4142136, 1e-6);
    EXPECT_TRUE(cell.warnings.empty());
  }
  // A run put later with another lr in the same cell, all of them current.
  clock.now += 60;
  put_adm_run(store, 30, 1, 9.0);
  runner::set_current_expansion(store, "exp", {"lr20-s0", "lr20-s1", "lr30-s1"});
  const auto r = reports::build_report(store, input());
  const auto& cell = r.tables.at(0).cells.at(0).at(0);
  ASSERT_TRUE(cell.ours);
  EXPECT_EQ(cell.ours->n, 1);
  EXPECT_DOUBLE_EQ(cell.ours->mean, 9.0);  // the newest config's run alone
  EXPECT_EQ(cell.runs, (std::vector<std::string>{"lr30-s1"}));
  ASSERT_EQ(cell.warnings.size(), 1u);
  EXPECT_EQ(cell.warnings[0],
            "configs differ beyond train.seed in train.lr: averaged the newest config's 1 run alone, left out 2 runs");
  EXPECT_TRUE(has(r.warnings,
                  "[method=adm, metric=fid]: the runs of this cell differ: configs differ beyond "
                  "train.seed in train.lr"));
}

TEST(StaleReport, StaleRowsOfSeveralEarlierExpansionsKeepTheNewestConfig) {
  TwoExpansions s;
  s.clock.now -= 1800;  // between the two: a second earlier expansion with lr 15
  put_adm_run(s.store, 15, 0, 15.0);
  const auto r = reports::build_report(s.store, input(true));
  const auto& t = r.tables.at(0);
  ASSERT_EQ(t.row_keys.size(), 2u);
  const auto& stale = t.cells[1][0];
  ASSERT_TRUE(stale.ours);
  EXPECT_EQ(stale.ours->n, 1);
  EXPECT_DOUBLE_EQ(stale.ours->mean, 15.0);
  EXPECT_TRUE(has(stale.warnings, "configs differ beyond train.seed in train.lr"));
  EXPECT_TRUE(has(r.warnings, "2 runs of earlier expansions of 'exp' shown in rows marked (stale)"));
  EXPECT_TRUE(has(r.warnings, "train.lr: averaged the newest config's 1 run alone, left out 1 run (stale rows)"));
}

}  // namespace
}  // namespace repro::test
