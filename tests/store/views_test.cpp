// The views of schema version 6 (docs/database.md, "Views") over a store built by hand: the
// questions the docs promise are one SELECT each, answered with hand-checked rows.
#include <SQLiteCpp/Statement.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "store/records.h"
#include "store/schema.h"
#include "tests/store/store_fixture.h"

namespace repro::test {
namespace {

using nlohmann::json;
using runner::Store;
using runner::TaskKind;

// A sample task at (iteration, steps) and its eval task with FID `fid` (result id "<run>@<it>/<steps>").
void put_fid(Store& store, const std::string& run, int64_t iteration, int steps, double fid) {
  const std::string at = std::to_string(iteration) + "/" + std::to_string(steps);
  const json spec = {{"batch_size", 8}, {"checkpoint_step", iteration}, {"clip_denoised", true}, {"ema", "0.9999"},
                     {"eta", 0.0},      {"num_samples", 500},           {"sampler", "ddim"},     {"seed", 7},
                     {"steps", steps}};
  runner::put_task(store, {run + "-sample-" + at, run, TaskKind::kSample, spec.dump()});
  runner::put_task(store, {run + "-eval-" + at, run, TaskKind::kEval,
                           json{{"samples_of", run + "-sample-" + at}, {"metrics", {"fid"}}}.dump()});
  runner::put_result(store, {run + "@" + at, run, run + "-eval-" + at, "fid", fid, R"({"features":"inception"})"});
}

// Experiment "table" over method: runs "adm" (position 0) and "ip" (1) current, "old" (2) stale;
// each has FID at iterations 1000 and 2000 with 50 and 100 steps, and a train task with a loss
// curve (the sample task also has a metric, which is not a curve).
void fill(Store& store) {
  runner::put_experiment(store, {"table", "table.yaml", std::string(64, 'a')});
  const std::vector<std::string> runs = {"adm", "ip", "old"};
  const std::vector<double> lrs = {1e-4, 2e-4, 3e-4};
  for (size_t p = 0; p < runs.size(); ++p) {
    const std::string& run = runs[p];
    runner::put_run(store, {run, "table", json{{"method", run}}.dump(), static_cast<int64_t>(p),
                            json{{"train", {{"lr", lrs[p]}}}}.dump(), "/runs/" + run});
    runner::put_task(store, {run + "-train", run, TaskKind::kTrain, R"({"iterations":2000})"});
    const double base = 10.0 * static_cast<double>(p + 1);  // adm 10, ip 20, old 30
    put_fid(store, run, 1000, 50, base + 4);
    put_fid(store, run, 1000, 100, base + 3);
    put_fid(store, run, 2000, 50, base + 2);
    put_fid(store, run, 2000, 100, base + 1);
  }
  store.db().exec(
      "INSERT INTO metrics (task_id, name, step, value, seq) VALUES "
      "('adm-train', 'loss', 0, 1.0, 1), ('adm-train', 'loss', 100, 0.5, 2), ('adm-train', 'mse', 100, 0.25, 3), "
      "('old-train', 'loss', 100, 0.75, 1), ('adm-sample-1000/50', 'loss', 5, 9.0, 1)");
  runner::set_current_expansion(store, "table", {"adm", "ip"});
}

std::vector<std::string> rows_of(Store& store, const std::string& sql) {
  SQLite::Statement q(store.db(), sql);
  std::vector<std::string> out;
  while (q.executeStep()) {
    std::string row;
    for (int c = 0; c < q.getColumnCount(); ++c) row += (c ? "|" : "") + q.getColumn(c).getString();
    out.push_back(row);
  }
  return out;
}

TEST(Views, AreCreatedByVersionSix) {
  TempDir dir;
  Store store(dir.file("repro.db"));
  EXPECT_GE(runner::latest_schema_version(), 6);
  EXPECT_EQ(rows_of(store, "SELECT name FROM sqlite_master WHERE type = 'view' ORDER BY name"),
            (std::vector<std::string>{"v_curves", "v_results", "v_runs"}));
}

TEST(Views, FidAtIterationKWithTStepsIsOneSelect) {
  TempDir dir;
  Store store(dir.file("repro.db"));
  fill(store);
  // The query of docs/database.md, "Views".
  EXPECT_EQ(rows_of(store,
                    "SELECT json_extract(axes, '$.method') AS method, value FROM v_results "
                    "WHERE experiment = 'table' AND metric = 'fid' AND iteration = 2000 AND steps = 50 "
                    "AND NOT stale ORDER BY position"),
            (std::vector<std::string>{"adm|12.0", "ip|22.0"}));
  EXPECT_EQ(rows_of(store,
                    "SELECT run_id, value FROM v_results WHERE metric = 'fid' AND iteration = 1000 AND steps = 100 "
                    "ORDER BY position"),
            (std::vector<std::string>{"adm|13.0", "ip|23.0", "old|33.0"}));
}

TEST(Views, ResultsCarryTheSampleTasksSettings) {
  TempDir dir;
  Store store(dir.file("repro.db"));
  fill(store);
  EXPECT_EQ(rows_of(store,
                    "SELECT experiment, run_id, stale, result_id, eval_task, sample_task, iteration, steps, sampler, "
                    "eta, ema, num_samples, seed, recipe FROM v_results WHERE result_id = 'ip@2000/100'"),
            (std::vector<std::string>{
                "table|ip|0|ip@2000/100|ip-eval-2000/100|ip-sample-2000/100|2000|100|ddim|0.0|0.9999|500|7|"
                R"({"features":"inception"})"}));
  // A result without an eval task keeps its row, with no settings.
  runner::put_result(store, {"adm@x", "adm", "", "is", 9.5, "{}"});
  EXPECT_EQ(rows_of(store,
                    "SELECT run_id, eval_task IS NULL, sample_task IS NULL, iteration IS NULL, value FROM v_results "
                    "WHERE metric = 'is'"),
            (std::vector<std::string>{"adm|1|1|1|9.5"}));
  EXPECT_EQ(count_rows(store, "SELECT count(*) FROM v_results"), 12 + 1);
}

TEST(Views, RunsAreStaleWhenNotInTheLatestExpansion) {
  TempDir dir;
  Store store(dir.file("repro.db"));
  fill(store);
  EXPECT_EQ(rows_of(store,
                    "SELECT experiment, run_id, position, axes, stale, status, run_dir, "
                    "json_extract(config, '$.train.lr') FROM v_runs ORDER BY position"),
            (std::vector<std::string>{R"(table|adm|0|{"method":"adm"}|0|pending|/runs/adm|0.0001)",
                                      R"(table|ip|1|{"method":"ip"}|0|pending|/runs/ip|0.0002)",
                                      R"(table|old|2|{"method":"old"}|1|pending|/runs/old|0.0003)"}));
  // A run in two experiments is stale in one and current in the other.
  runner::put_experiment(store, {"other", "other.yaml", std::string(64, 'b')});
  runner::put_run(store, {"old", "other", R"({"method":"old"})", 0, R"({"train":{"lr":0.0003}})", "/runs/old"});
  runner::set_current_expansion(store, "other", {"old"});
  EXPECT_EQ(rows_of(store, "SELECT experiment, stale FROM v_runs WHERE run_id = 'old' ORDER BY experiment"),
            (std::vector<std::string>{"other|0", "table|1"}));
  // An experiment that lists no expansion (its runs put by something other than `repro run`): all
  // current, as runner::stale_run_sql has it.
  runner::set_current_expansion(store, "table", {});
  EXPECT_EQ(count_rows(store, "SELECT count(*) FROM v_runs WHERE stale"), 0);
  EXPECT_EQ(count_rows(store, "SELECT count(*) FROM v_results WHERE stale"), 0);
  EXPECT_EQ(count_rows(store, "SELECT count(*) FROM v_results WHERE run_id = 'old'"), 8);  // 4 per experiment
}

TEST(Views, CurvesAreTheTrainTasksMetrics) {
  TempDir dir;
  Store store(dir.file("repro.db"));
  fill(store);
  EXPECT_EQ(rows_of(store,
                    "SELECT experiment, run_id, stale, task_id, metric, step, value FROM v_curves "
                    "ORDER BY run_id, metric, step"),
            (std::vector<std::string>{"table|adm|0|adm-train|loss|0|1.0", "table|adm|0|adm-train|loss|100|0.5",
                                      "table|adm|0|adm-train|mse|100|0.25", "table|old|1|old-train|loss|100|0.75"}));
}

}  // namespace
}  // namespace repro::test
