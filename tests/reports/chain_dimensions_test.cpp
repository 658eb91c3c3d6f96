// The evaluation dimensions of Epsilon Scaling and Table 1: eps_scale (lambda, "1" unscaled, from
// the sample spec's eps_scale_b and eps_scale_k) and start_t (the K of a chain started from data,
// "0" from noise). Read off the store as results' dimensions, usable as a report
// table's rows, columns, where and published keys, and picked by the default table when they vary.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/util/errors.h"
#include "config/strict_yaml.h"
#include "reports/observations.h"
#include "reports/report.h"
#include "reports/report_spec.h"
#include "store/records.h"
#include "store/store.h"
#include "tests/support/test_support.h"

namespace repro::test {
namespace {

using nlohmann::json;

// One result: the run's method and the sample spec members beyond the plain ones.
struct Chain {
  std::string method;
  int steps = 100;
  json extra = json::object();  // eps_scale_b, eps_scale_k, start_t, data
  double fid = 0;
};

// Puts experiment `name` (axis method) with one eval task and FID per chain; run ids are
// "<name>-<method>" (runs of the same id would be shared between experiments).
void fill(runner::Store& store, const std::string& name, const std::vector<Chain>& chains, const std::string& root) {
  runner::put_experiment(store, {name, "experiments/" + name + ".yaml", std::string(64, 'a')});
  std::map<std::string, int> position;
  for (size_t i = 0; i < chains.size(); ++i) {
    const Chain& c = chains[i];
    const std::string run = name + "-" + c.method;
    if (!position.count(run)) {
      const int p = static_cast<int>(position.size());
      position[run] = p;
      runner::put_run(store,
                      {run, name, json{{"method", c.method}}.dump(), p, json{{"run", run}}.dump(), root + "/" + run});
    }
    json spec = {{"batch_size", 64}, {"checkpoint_step", 1000}, {"clip_denoised", true},  {"ema", "0.9999"},
                 {"eta", 0.0},       {"num_samples", 100},      {"sampler", "ancestral"}, {"seed", 0},
                 {"steps", c.steps}};
    for (const auto& [k, v] : c.extra.items()) spec[k] = v;
    const std::string sample = run + "-sample-" + std::to_string(i), eval = run + "-eval-" + std::to_string(i);
    runner::put_task(store, {sample, run, runner::TaskKind::kSample, spec.dump()});
    runner::put_task(store,
                     {eval, run, runner::TaskKind::kEval, json{{"samples_of", sample}, {"metrics", {"fid"}}}.dump()});
    runner::put_result(store, {eval, run, eval, "fid", c.fid, json{{"comparable_with_published", true}}.dump()});
  }
}

reports::Report report_of(runner::Store& store, const std::string& name, const std::string& spec_yaml) {
  reports::ReportInput in;
  in.experiment = name;
  in.axes = {{"method", {"adm", "adm-ip"}}};
  in.sample_grids = false;
  if (!spec_yaml.empty())
    in.spec = reports::read_report_spec(config::load_yaml_string(spec_yaml, "exp.yaml"), "exp.yaml", {"method"});
  return reports::build_report(store, in);
}

// The cell of `t` at row key `row` (joined by "/") and column key `column`.
const reports::CellResult& cell(const reports::TableResult& t, const std::string& row, const std::string& column) {
  auto joined = [](const std::vector<std::string>& key) {
    std::string s;
    for (const auto& k : key) s += (s.empty() ? "" : "/") + k;
    return s;
  };
  for (size_t r = 0; r < t.row_keys.size(); ++r)
    for (size_t c = 0; c < t.column_keys.size(); ++c)
      if (joined(t.row_keys[r]) == row && joined(t.column_keys[c]) == column) return t.cells[r][c];
  throw std::runtime_error("no cell " + row + " | " + column);
}

}  // namespace

TEST(ChainDimensions, ObservationsCarryEpsScaleAndStartTAlways) {
  TempDir dir;
  runner::Store store(dir.file("repro.db"));
  fill(store, "dims",
       {{"adm", 100, json::object(), 3.0},
        {"adm", 100, {{"eps_scale_b", 1.017}}, 2.5},
        {"adm", 100, {{"eps_scale_k", 0.001}}, 2.8},
        {"adm", 100, {{"eps_scale_b", 1.005}, {"eps_scale_k", -0.0001}}, 2.9},
        {"adm", 1000, {{"start_t", 300}, {"data", "/r.npz"}}, 1.8}},
       dir.path().string());
  const auto obs = reports::collect_observations(store, "dims");
  ASSERT_EQ(obs.size(), 5u);
  std::map<std::string, std::map<std::string, std::string>> dims;  // eval task -> dims
  for (const auto& o : obs) dims[o.eval_task] = o.dims;
  EXPECT_EQ(dims["dims-adm-eval-0"].at("eps_scale"), "1");  // a spec without it: unscaled
  EXPECT_EQ(dims["dims-adm-eval-0"].at("start_t"), "0");    // from noise
  EXPECT_EQ(dims["dims-adm-eval-1"].at("eps_scale"), "1.017");
  EXPECT_EQ(dims["dims-adm-eval-2"].at("eps_scale"), "1+0.001i");
  EXPECT_EQ(dims["dims-adm-eval-3"].at("eps_scale"), "1.005-0.0001i");
  EXPECT_EQ(dims["dims-adm-eval-4"].at("start_t"), "300");
  EXPECT_EQ(dims["dims-adm-eval-4"].at("eps_scale"), "1");
  EXPECT_EQ(dims["dims-adm-eval-4"].at("steps"), "1000");
}

// Table 1's layout: rows method, columns start_t, the published numbers beside ours with verdicts.
TEST(ChainDimensions, StartTAsColumnsWithPublishedValues) {
  TempDir dir;
  runner::Store store(dir.file("repro.db"));
  std::vector<Chain> chains;
  const json data = "/r.npz";
  for (const auto& [method, fids] :
       std::map<std::string, std::vector<double>>{{"adm", {0.99, 2.0}}, {"adm-ip", {0.97, 2.7}}})
    for (size_t i = 0; i < 2; ++i)
      chains.push_back({method, 1000, {{"start_t", i == 0 ? 100 : 1000}, {"data", data}}, fids[i]});
  fill(store, "t1", chains, dir.path().string());
  const auto r = report_of(store, "t1", R"(tables:
  - id: table1
    rows: [method]
    columns: [start_t]
    metrics: [fid]
    decimals: 3
    tolerance: {default: {relative: 0.05}}
    published:
      source: paper
      num_samples: 100
      values:
        - {method: adm, start_t: 100, fid: 0.983}
        - {method: adm, start_t: 1000, fid: 3.544}
        - {method: adm-ip, start_t: 100, fid: 0.972}
        - {method: adm-ip, start_t: 1000, fid: 2.742}
)");
  ASSERT_EQ(r.tables.size(), 1u);
  const auto& t = r.tables[0];
  ASSERT_EQ(t.column_keys.size(), 2u);
  EXPECT_EQ(t.column_keys[0], (std::vector<std::string>{"100", "fid"}));
  EXPECT_EQ(t.column_keys[1], (std::vector<std::string>{"1000", "fid"}));
  const auto& a = cell(t, "adm", "1000/fid");
  ASSERT_TRUE(a.ours && a.published);
  EXPECT_DOUBLE_EQ(a.ours->mean, 2.0);
  EXPECT_DOUBLE_EQ(*a.published, 3.544);
  EXPECT_EQ(a.verdict, reports::Verdict::kBetter);  // lower FID than published, beyond 5 %
  const auto& b = cell(t, "adm-ip", "100/fid");
  EXPECT_DOUBLE_EQ(b.ours->mean, 0.97);
  EXPECT_EQ(b.verdict, reports::Verdict::kReproduced);  // |0.97 - 0.972| within 5 %
  EXPECT_TRUE(cell(t, "adm-ip", "1000/fid").ours.has_value());
}

// eps_scaling's layout: rows method and steps, columns lambda, best per row; where: fixes a lambda.
TEST(ChainDimensions, EpsScaleAsColumnsBestPerRowAndInWhere) {
  TempDir dir;
  runner::Store store(dir.file("repro.db"));
  std::vector<Chain> chains;
  // FID per (method, lambda) at 100 steps: ADM best at 1.017, ADM-IP at 1.005.
  const std::map<std::string, std::map<double, double>> fid = {{"adm", {{1.0, 3.4}, {1.005, 3.0}, {1.017, 2.2}}},
                                                               {"adm-ip", {{1.0, 2.7}, {1.005, 2.4}, {1.017, 2.6}}}};
  for (const auto& [method, by_lambda] : fid)
    for (const auto& [lambda, value] : by_lambda)
      chains.push_back({method, 100, lambda == 1.0 ? json::object() : json{{"eps_scale_b", lambda}}, value});
  fill(store, "es", chains, dir.path().string());
  const auto r = report_of(store, "es", R"(tables:
  - id: es
    rows: [method, steps]
    columns: [eps_scale]
    metrics: [fid]
    best: row
    published:
      source: Table 3
      values:
        - {method: adm, steps: 100, eps_scale: 1, fid: 3.37}
  - id: at_1017
    rows: [method]
    metrics: [fid]
    where: {eps_scale: 1.017}
)");
  ASSERT_EQ(r.tables.size(), 2u);
  const auto& t = r.tables[0];
  ASSERT_EQ(t.column_keys.size(), 3u);
  EXPECT_EQ(t.column_keys[0][0], "1");  // numbers ascending
  EXPECT_EQ(t.column_keys[1][0], "1.005");
  EXPECT_EQ(t.column_keys[2][0], "1.017");
  EXPECT_TRUE(cell(t, "adm/100", "1.017/fid").best);
  EXPECT_FALSE(cell(t, "adm/100", "1/fid").best);
  EXPECT_TRUE(cell(t, "adm-ip/100", "1.005/fid").best);
  EXPECT_FALSE(cell(t, "adm-ip/100", "1.017/fid").best);
  EXPECT_DOUBLE_EQ(*cell(t, "adm/100", "1/fid").published, 3.37);
  EXPECT_FALSE(cell(t, "adm/100", "1.017/fid").published.has_value());
  const auto& w = r.tables[1];
  EXPECT_DOUBLE_EQ(cell(w, "adm", "fid").ours->mean, 2.2);
  EXPECT_DOUBLE_EQ(cell(w, "adm-ip", "fid").ours->mean, 2.6);
}

TEST(ChainDimensions, TheDefaultTableTakesThemWhenTheyVary) {
  TempDir dir;
  runner::Store store(dir.file("repro.db"));
  fill(store, "varying",
       {{"adm", 100, json::object(), 3.0},
        {"adm", 100, {{"eps_scale_b", 1.017}}, 2.5},
        {"adm-ip", 100, json::object(), 2.7},
        {"adm-ip", 100, {{"eps_scale_b", 1.017}}, 2.4}},
       dir.path().string());
  const auto r = report_of(store, "varying", "");
  ASSERT_EQ(r.tables.size(), 1u);
  EXPECT_EQ(r.tables[0].spec.rows, (std::vector<std::string>{"method", "eps_scale"}));
  EXPECT_EQ(r.tables[0].row_keys.size(), 4u);
  // The same lambda everywhere (and no chain from data): neither is a row.
  fill(store, "constant", {{"adm", 100, json::object(), 3.0}, {"adm-ip", 50, json::object(), 2.7}},
       dir.path().string());
  EXPECT_EQ(report_of(store, "constant", "").tables[0].spec.rows, (std::vector<std::string>{"method", "steps"}));
  // Chains from several K: start_t is a row.
  fill(store, "starts",
       {{"adm", 1000, {{"start_t", 100}, {"data", "/r"}}, 1.0}, {"adm", 1000, {{"start_t", 300}, {"data", "/r"}}, 1.8}},
       dir.path().string());
  EXPECT_EQ(report_of(store, "starts", "").tables[0].spec.rows, (std::vector<std::string>{"method", "start_t"}));
}

TEST(ChainDimensions, ReportSpecsAcceptThemAndStillRefuseUnknownDimensions) {
  EXPECT_NO_THROW(reports::read_report_spec(
      config::load_yaml_string("tables: [{id: a, rows: [start_t], columns: [eps_scale], metrics: [fid], "
                               "where: {steps: 1000}, published: {source: s, values: [{start_t: 100, eps_scale: 1, "
                               "fid: 1.0}]}}]",
                               "exp.yaml"),
      "exp.yaml", {"method"}));
  const ConfigError e = config_error([] {
    reports::read_report_spec(
        config::load_yaml_string("tables:\n  - {id: a, rows: [lambda], metrics: [fid]}\n", "exp.yaml"), "exp.yaml",
        {"method"});
  });
  EXPECT_EQ(e.key_path(), "report.tables[0].rows");
  EXPECT_NE(std::string(e.what()).find("eps_scale, start_t"), std::string::npos) << e.what();
  EXPECT_EQ(std::string(e.what()).rfind("exp.yaml:2: ", 0), 0u) << e.what();
}

// Runs are shared between experiments: a table that does not name eps_scale or start_t shows only
// unscaled chains from noise, whatever else the run was evaluated with; naming one shows them all.
TEST(ChainDimensions, TablesThatDoNotNameThemShowOnlyUnscaledChainsFromNoise) {
  TempDir dir;
  runner::Store store(dir.file("repro.db"));
  // Inserted last, the scaled and data-started results would be the "last" pick of a Table 3 cell.
  fill(store, "shared",
       {{"adm", 100, json::object(), 3.37},
        {"adm", 100, {{"eps_scale_b", 1.02}}, 2.9},
        {"adm", 1000, json::object(), 2.99},
        {"adm", 1000, {{"start_t", 1000}, {"data", "/r.npz"}}, 3.5}},
       dir.path().string());
  const auto table3 =
      report_of(store, "shared", "tables: [{id: t3, rows: [steps], columns: [method, metric], metrics: [fid]}]")
          .tables.at(0);
  ASSERT_EQ(table3.row_keys.size(), 2u);
  EXPECT_DOUBLE_EQ(cell(table3, "100", "adm/fid").ours->mean, 3.37);
  EXPECT_DOUBLE_EQ(cell(table3, "1000", "adm/fid").ours->mean, 2.99);
  const auto by_lambda =
      report_of(store, "shared",
                "tables: [{id: es, rows: [method], columns: [eps_scale, metric], metrics: [fid], where: {steps: 100}}]")
          .tables.at(0);
  EXPECT_DOUBLE_EQ(cell(by_lambda, "adm", "1/fid").ours->mean, 3.37);
  EXPECT_DOUBLE_EQ(cell(by_lambda, "adm", "1.02/fid").ours->mean, 2.9);
  const auto by_start =
      report_of(store, "shared",
                "tables: [{id: t1, rows: [method], columns: [start_t, metric], metrics: [fid], where: {steps: 1000}}]")
          .tables.at(0);
  EXPECT_DOUBLE_EQ(cell(by_start, "adm", "0/fid").ours->mean, 2.99);
  EXPECT_DOUBLE_EQ(cell(by_start, "adm", "1000/fid").ours->mean, 3.5);
}

}  // namespace repro::test
