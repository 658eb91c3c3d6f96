// repro show, results and diff (reports/inspect.h) on a store built by hand (report_fixture.h's
// fill_store: runs "<method>-s<seed>", tasks "<run>-train", "<run>-sample-<it>-<steps>",
// "<run>-eval-<it>-<steps>"), every expected row written out.
#include "reports/inspect.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "base/util/errors.h"
#include "store/records.h"
#include "store/schema.h"
#include "tests/reports/report_fixture.h"

namespace repro::test {
namespace {

using nlohmann::json;
using reports::ResultsTable;
using runner::Store;

// Every run current. adm-s0 (position 0): fid 10 and is 5 at 1000/50, fid 9 at 1000/100; adm-s1 (1): fid 11 at
// 1000/50; ip-s0 (2): fid 8 at 1000/50, fid 7 at 2000/50.
void fill(Store& store, const std::string& root) {
  fill_store(store, "table",
             {{"adm", "0", 1000, 50, {{"fid", 10.0}, {"is", 5.0}}},
              {"adm", "0", 1000, 100, {{"fid", 9.0}}},
              {"adm", "1", 1000, 50, {{"fid", 11.0}}},
              {"ip", "0", 1000, 50, {{"fid", 8.0}}},
              {"ip", "0", 2000, 50, {{"fid", 7.0}}}},
             root);
  runner::set_current_expansion(store, "table", {"adm-s0", "adm-s1", "ip-s0"});
}

// Marks adm-s1 stale: the latest expansion of "table" lists the other runs.
void make_adm_s1_stale(Store& store) { runner::set_current_expansion(store, "table", {"adm-s0", "ip-s0"}); }

std::vector<std::vector<std::string>> texts(const ResultsTable& t) {
  std::vector<std::vector<std::string>> out;
  for (const auto& row : reports::results_cells(t)) {
    out.emplace_back();
    for (const auto& c : row) out.back().push_back(c.text);
  }
  return out;
}

class Inspect : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = std::make_unique<Store>(dir_.file("repro.db"));
    fill(*store_, "/runs");
  }
  Store& store() { return *store_; }
  TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(Inspect, ResultsHaveOneRowPerRunAndSetting) {
  const ResultsTable t = reports::results_table(store(), "table", {}, false);
  EXPECT_EQ(reports::results_header(t),
            (std::vector<std::string>{"dataset", "method", "seed", "run", "iteration", "steps", "sampler", "eta", "ema",
                                      "num_samples", "eps_scale", "start_t", "fid", "is"}));
  // Within a run in result id order: "...-1000-100" sorts before "...-1000-50".
  EXPECT_EQ(
      texts(t),
      (std::vector<std::vector<std::string>>{
          {"cifar10", "adm", "0", "adm-s0", "1000", "100", "ancestral", "0", "0.9999", "1000", "1", "0", "9", ""},
          {"cifar10", "adm", "0", "adm-s0", "1000", "50", "ancestral", "0", "0.9999", "1000", "1", "0", "10", "5"},
          {"cifar10", "adm", "1", "adm-s1", "1000", "50", "ancestral", "0", "0.9999", "1000", "1", "0", "11", ""},
          {"cifar10", "ip", "0", "ip-s0", "1000", "50", "ancestral", "0", "0.9999", "1000", "1", "0", "8", ""},
          {"cifar10", "ip", "0", "ip-s0", "2000", "50", "ancestral", "0", "0.9999", "1000", "1", "0", "7", ""}}));
  EXPECT_EQ(t.rows[1].result_id, "adm-s0-eval-1000-50");
  EXPECT_EQ(t.stale_left_out, 0);
}

TEST_F(Inspect, WhereFiltersOnAxesAndSettings) {
  auto runs = [&](const std::vector<std::string>& where) {
    std::vector<std::string> out;
    for (const auto& r : reports::results_table(store(), "table", where, false).rows)
      out.push_back(r.run_id + "@" + r.settings[0].dump() + "/" + r.settings[1].dump());
    return out;
  };
  EXPECT_EQ(runs({"method=adm"}), (std::vector<std::string>{"adm-s0@1000/100", "adm-s0@1000/50", "adm-s1@1000/50"}));
  EXPECT_EQ(runs({"method=adm", "steps=50"}), (std::vector<std::string>{"adm-s0@1000/50", "adm-s1@1000/50"}));
  // Values of one key are alternatives; numbers compare as numbers.
  EXPECT_EQ(runs({"iteration=2000", "iteration=1e3", "seed=0", "steps=50.0"}),
            (std::vector<std::string>{"adm-s0@1000/50", "ip-s0@1000/50", "ip-s0@2000/50"}));
  EXPECT_TRUE(runs({"method=nope"}).empty());
  // The metric columns are those of the rows shown: no "is" without adm-s0 at 1000/50.
  EXPECT_EQ(reports::results_table(store(), "table", {"method=ip"}, false).metrics, (std::vector<std::string>{"fid"}));

  const std::string unknown = error_message([&] { reports::results_table(store(), "table", {"lr=1"}, false); });
  EXPECT_NE(unknown.find("--where"), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("unknown key 'lr'"), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("dataset, ema, eps_scale, eta, iteration, method"), std::string::npos) << unknown;
  EXPECT_THROW(reports::results_table(store(), "table", {"method"}, false), ConfigError);
  EXPECT_THROW(reports::results_table(store(), "table", {"=adm"}, false), ConfigError);
}

TEST_F(Inspect, StaleRunsOnlyWithAll) {
  make_adm_s1_stale(store());
  const ResultsTable current = reports::results_table(store(), "table", {}, false);
  EXPECT_EQ(current.rows.size(), 4u);
  EXPECT_EQ(current.stale_left_out, 1);
  for (const auto& r : current.rows) EXPECT_NE(r.run_id, "adm-s1");

  const ResultsTable all = reports::results_table(store(), "table", {}, true);
  ASSERT_EQ(all.rows.size(), 5u);
  EXPECT_EQ(reports::results_header(all).front(), "stale");
  const auto cells = texts(all);
  EXPECT_EQ(cells[2][0], "stale");
  EXPECT_EQ(cells[2][4], "adm-s1");
  EXPECT_EQ(cells[0][0], "");
  EXPECT_EQ(all.stale_left_out, 0);
}

// Only stale runs with rows the --where filters keep are said to be left out: not ones without
// results, nor ones the filters drop.
TEST_F(Inspect, StaleLeftOutCountsOnlyRowsTheFiltersKeep) {
  runner::put_run(store(), {"empty-s0", "table", R"({"dataset": "cifar10", "method": "empty", "seed": "0"})", 3,
                            R"({"run": "empty-s0"})", "/runs/empty-s0"});
  make_adm_s1_stale(store());  // and empty-s0, which has no results
  EXPECT_EQ(reports::results_table(store(), "table", {}, false).stale_left_out, 1);
  EXPECT_EQ(reports::results_table(store(), "table", {"method=ip"}, false).stale_left_out, 0);
  EXPECT_EQ(reports::results_table(store(), "table", {"steps=100"}, false).stale_left_out, 0);
  const ResultsTable adm = reports::results_table(store(), "table", {"method=adm", "steps=50"}, false);
  EXPECT_EQ(adm.stale_left_out, 1);
  ASSERT_EQ(adm.rows.size(), 1u);
  EXPECT_EQ(adm.rows[0].run_id, "adm-s0");
  EXPECT_EQ(reports::results_table(store(), "table", {"method=empty"}, false).stale_left_out, 0);
}

TEST(InspectOldStore, EveryRunIsCurrentBeforeVersionFive) {
  TempDir dir;
  const std::vector<runner::Migration> four(runner::schema_migrations().begin(),
                                            runner::schema_migrations().begin() + 4);
  {
    Store old(dir.file("repro.db"), {}, four);
    fill_store(old, "table", {{"adm", "0", 1000, 50, {{"fid", 10.0}}}, {"ip", "0", 1000, 50, {{"fid", 8.0}}}}, "/runs");
  }
  Store store(dir.file("repro.db"), runner::read_only_options());  // keeps version 4
  ASSERT_EQ(store.schema_version(), 4);
  const ResultsTable t = reports::results_table(store, "table", {}, true);
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_FALSE(t.rows[0].stale);
  EXPECT_FALSE(t.rows[1].stale);
  EXPECT_EQ(reports::show_run(store, "ip-s0")["experiments"][0]["stale"], false);
}

TEST(InspectRender, TableCsvAndJson) {
  ResultsTable t;
  t.experiment = "e";
  t.axes = {"dataset"};
  t.metrics = {"fid", "score"};
  ResultsTable::Row a;
  a.run_id = "r1";
  a.result_id = "r1@x";
  a.axes = {{"dataset", "=HYPERLINK(\"x\")"}};
  a.settings = {json(1000), json(50), json("ddim"), json(0.5), json("model"), json(), json("1.017"), json(0)};
  a.metrics = {12.3456789, -0.5};
  ResultsTable::Row b;
  b.run_id = "-r2";
  b.result_id = "r2@x";
  b.axes = {{"dataset", -3}};
  b.settings = {json(20), json(1000), json("ancestral"), json(0.0), json("0.9999"), json(10), json("1"), json(300)};
  b.metrics = {std::nullopt, 2.0};
  t.rows = {a, b};

  // Columns of numbers are right-aligned; "dataset" holds text too.
  EXPECT_EQ(
      reports::render_results_table(t),
      "dataset          run  iteration  steps  sampler    eta  ema     num_samples  eps_scale  start_t      fid  "
      "score\n"
      "=HYPERLINK(\"x\")  r1        1000     50  ddim       0.5  model                1.017            0  12.3457   "
      "-0.5\n"
      "-3               -r2         20   1000  ancestral    0  0.9999           10  1              300            "
      "   2\n");
  // Text starting with = + - @ is neutralised, numbers repro wrote are not.
  EXPECT_EQ(reports::render_results_csv(t),
            "dataset,run,iteration,steps,sampler,eta,ema,num_samples,eps_scale,start_t,fid,score\n"
            "\"'=HYPERLINK(\"\"x\"\")\",r1,1000,50,ddim,0.5,model,,1.017,0,12.3456789,-0.5\n"
            "-3,'-r2,20,1000,ancestral,0,0.9999,10,1,300,,2\n");
  const json j = json::parse(reports::render_results_json(t));
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[0]["run_id"], "r1");
  EXPECT_EQ(j[0]["experiment"], "e");
  EXPECT_EQ(j[0]["axes"]["dataset"], "=HYPERLINK(\"x\")");
  EXPECT_EQ(j[0]["settings"]["steps"], 50);
  EXPECT_TRUE(j[0]["settings"]["num_samples"].is_null());
  EXPECT_EQ(j[0]["metrics"]["fid"], 12.3456789);
  EXPECT_FALSE(j[1]["metrics"].contains("fid"));
  EXPECT_EQ(j[1]["metrics"]["score"], 2.0);
  EXPECT_FALSE(j[0].contains("stale"));
}

TEST_F(Inspect, IdsResolveByUniquePrefix) {
  using Kind = reports::ResolvedId::Kind;
  auto resolve = [&](const std::string& id, bool tasks = true) {
    const auto r = reports::resolve_id(store(), id, tasks, "repro show", "RUN_OR_TASK");
    return std::string(r.kind == Kind::kRun ? "run " : "task ") + r.id;
  };
  // A run's prefix is also a prefix of its task ids ("<run>-train"): it means the run.
  EXPECT_EQ(resolve("adm-s0"), "run adm-s0");
  EXPECT_EQ(resolve("ip-s"), "run ip-s0");
  EXPECT_EQ(resolve("i"), "run ip-s0");
  EXPECT_EQ(resolve("adm-s0-t"), "task adm-s0-train");
  EXPECT_EQ(resolve("adm-s0-eval-1000-5"), "task adm-s0-eval-1000-50");
  EXPECT_EQ(resolve("adm-s1-eval-1000-50"), "task adm-s1-eval-1000-50");

  const std::string ambiguous = error_message([&] { resolve("adm-s"); });
  EXPECT_NE(ambiguous.find("RUN_OR_TASK"), std::string::npos) << ambiguous;
  EXPECT_NE(ambiguous.find("'adm-s' is a prefix of several ids: run adm-s0, run adm-s1 (give more characters)"),
            std::string::npos)
      << ambiguous;
  const std::string tasks = error_message([&] { resolve("adm-s0-sample"); });
  EXPECT_NE(tasks.find("task adm-s0-sample-1000-100, task adm-s0-sample-1000-50 ("), std::string::npos) << tasks;
  EXPECT_THROW(resolve("adm-s"), ConfigError);
  EXPECT_THROW(resolve("adm-s0-sample"), ConfigError);
  const std::string unknown = error_message([&] { resolve("zzz"); });
  EXPECT_NE(unknown.find("no run or task 'zzz'"), std::string::npos) << unknown;
  EXPECT_THROW(resolve("zzz"), ConfigError);
  EXPECT_THROW(resolve(""), ConfigError);
  // Runs only (repro diff): a task prefix is unknown, a run prefix is fine.
  EXPECT_EQ(resolve("ip", false), "run ip-s0");
  EXPECT_THROW(resolve("adm-s0-t", false), ConfigError);
}

TEST_F(Inspect, ShowRun) {
  runner::put_artifact(store(), {"adm-s0-train", "checkpoints/model001000.pt", "ab12", 4096});
  runner::put_provenance(store(), "adm-s0", "adm-s0-train", {{"cuda", "12.1"}, {"device", "cuda:0"}});
  runner::put_provenance(store(), "adm-s0", "adm-s0-sample-1000-50", {{"cuda", "12.1"}, {"device", "cuda:1"}});
  const auto shown = reports::show_run(store(), "adm-s0");
  const json r = json::parse(shown.dump());
  EXPECT_EQ(r["run"], "adm-s0");
  EXPECT_EQ(r["status"], "pending");
  EXPECT_EQ(r["run_dir"], "/runs/adm-s0");
  EXPECT_EQ(r["config"], json({{"run", "adm-s0"}}));
  ASSERT_EQ(r["experiments"].size(), 1u);
  EXPECT_EQ(r["experiments"][0]["experiment"], "table");
  EXPECT_EQ(r["experiments"][0]["axes"]["method"], "adm");
  EXPECT_EQ(r["experiments"][0]["stale"], false);
  EXPECT_EQ(r["provenance"]["git_commit"], "0123456789abcdef0123");
  EXPECT_EQ(r["provenance"]["data_fingerprint"], "fp-cifar10");
  // train, then sample and eval at 1000/50, then at 1000/100: the order they were put.
  ASSERT_EQ(r["tasks"].size(), 5u);
  const auto& train = r["tasks"][0];
  EXPECT_EQ(train["task"], "adm-s0-train");
  EXPECT_EQ(train["kind"], "train");
  EXPECT_EQ(train["state"], "running");  // begin_attempt set it; end_attempt leaves it
  EXPECT_EQ(train["attempts"], 1);
  EXPECT_EQ(train["started"], 1000.0);
  EXPECT_EQ(train["ended"], 4600.0);
  EXPECT_EQ(train["time_s"], 3600.0);
  EXPECT_EQ(train["log"], "log");
  EXPECT_EQ(train["provenance"], json({{"cuda", "12.1"}, {"device", "cuda:0"}}));
  ASSERT_EQ(train["artifacts"].size(), 1u);
  EXPECT_EQ(train["artifacts"][0]["path"], "/runs/adm-s0/checkpoints/model001000.pt");
  EXPECT_EQ(train["artifacts"][0]["bytes"], 4096);
  EXPECT_EQ(r["tasks"][1]["task"], "adm-s0-sample-1000-50");
  EXPECT_TRUE(r["tasks"][1]["started"].is_null());
  ASSERT_EQ(r["results"].size(), 2u);
  EXPECT_EQ(r["results"][1]["result_id"], "adm-s0-eval-1000-50");
  EXPECT_EQ(r["results"][1]["features"], "test");  // the recipe's feature network (weights digest)
  EXPECT_EQ(r["results"][1]["settings"]["steps"], 50);
  EXPECT_EQ(r["results"][1]["metrics"], json({{"fid", 10.0}, {"is", 5.0}}));

  const std::string text = reports::render_show(shown);
  for (const char* line :
       {"run adm-s0  pending\n", "  experiment table #0: dataset=cifar10 method=adm seed=0\n",
        // The run's provenance with what its tasks agree on (cuda); each task keeps the rest.
        "\nprovenance\n  cuda              12.1\n  data_fingerprint  fp-cifar10\n  device            cpu\n"
        "  git_commit        0123456789abcdef0123\n  libtorch_version  1.13.1\n\n",
        "  train adm-s0-train  running, 1 attempt(s), started 1970-01-01 00:16:40 UTC, ended 1970-01-01 01:16:40 UTC, "
        "took "
        "1 h 00 min\n    log log\n    provenance device=cuda:0\n    artifact /runs/adm-s0/checkpoints/model001000.pt "
        "(4096 bytes)\n",
        "  sample adm-s0-sample-1000-50  pending, 0 attempt(s)\n    provenance device=cuda:1\n",
        "    results fid 10, is 5\n",
        "  iteration=1000 steps=50 sampler=ancestral eta=0 ema=0.9999 num_samples=1000: fid 10, is 5\n"})
    EXPECT_NE(text.find(line), std::string::npos) << line << "\nnot in:\n" << text;
}

TEST_F(Inspect, JsonOutputSurvivesBytesThatAreNotUtf8) {
  // A config and an axis label with a lone 0xFF byte (an older store, a file name).
  store().db().exec(R"(UPDATE runs SET config = '{"name":"a' || CAST(x'ff' AS TEXT) || '"}' WHERE run_id = 'ip-s0')");
  store().db().exec(R"(UPDATE experiment_runs SET axes = '{"method":"i' || CAST(x'ff' AS TEXT) || 'p"}'
                       WHERE run_id = 'ip-s0')");
  store_.reset();
  std::ostringstream out, err;
  reports::ShowArgs show;
  show.where.project = dir_.path().string();
  show.id = "ip-s0";
  show.json = true;
  ASSERT_EQ(reports::show_command(show, out, err), 0);
  EXPECT_NE(out.str().find("\xEF\xBF\xBD"), std::string::npos) << out.str();
  EXPECT_TRUE(json::accept(out.str())) << out.str();
  reports::ResultsArgs results;
  results.where.project = dir_.path().string();
  results.format = "json";
  std::ostringstream rows;
  ASSERT_EQ(reports::results_command(results, rows, err), 0);
  EXPECT_EQ(json::parse(rows.str()).size(), 5u);
}

TEST_F(Inspect, ShowTask) {
  const json t = json::parse(reports::show_task(store(), "ip-s0-sample-2000-50").dump());
  EXPECT_EQ(t["task"], "ip-s0-sample-2000-50");
  EXPECT_EQ(t["run"], "ip-s0");
  EXPECT_EQ(t["kind"], "sample");
  EXPECT_EQ(t["spec"]["checkpoint_step"], 2000);
  EXPECT_TRUE(t["attempt_list"].empty());
  // The results measured on its samples.
  ASSERT_EQ(t["results"].size(), 1u);
  EXPECT_EQ(t["results"][0]["eval_task"], "ip-s0-eval-2000-50");
  EXPECT_EQ(t["results"][0]["metrics"]["fid"], 7.0);

  const auto shown = reports::show_task(store(), "adm-s1-train");
  const json train = json::parse(shown.dump());
  ASSERT_EQ(train["attempt_list"].size(), 1u);
  EXPECT_EQ(train["attempt_list"][0]["exit_code"], 0);
  EXPECT_EQ(train["attempt_list"][0]["ended"], 1000.0 + 3600.0 + 60.0);
  const std::string text = reports::render_show(shown);
  EXPECT_NE(text.find("task adm-s1-train  train, running\n  run        adm-s1\n  directory  /runs/adm-s1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("  1  local job 1 on host, 1970-01-01 00:16:40 UTC -> 1970-01-01 01:17:40 UTC, exit 0\n"),
            std::string::npos)
      << text;
}

TEST_F(Inspect, DiffOfConfigsAndMetrics) {
  store().db().exec(R"(UPDATE runs SET config = '{"train":{"lr":0.0001,"batch":128},"model":{"ch":128}}'
                       WHERE run_id = 'adm-s0')");
  store().db().exec(R"(UPDATE runs SET config = '{"train":{"lr":0.0002,"batch":128.0},"data":{"flip":true}}'
                       WHERE run_id = 'ip-s0')");
  const auto diff = reports::diff_runs(store(), "adm-s0", "ip-s0");
  const json d = json::parse(diff.dump());
  EXPECT_EQ(d["config"], json::parse(R"([
    {"key": "data.flip", "status": "added", "a": null, "b": true},
    {"key": "model.ch", "status": "removed", "a": 128, "b": null},
    {"key": "train.lr", "status": "changed", "a": 0.0001, "b": 0.0002}])"));
  ASSERT_EQ(d["metrics"].size(), 1u);
  EXPECT_EQ(d["metrics"][0]["metric"], "fid");
  EXPECT_EQ(d["metrics"][0]["a"], 10.0);
  EXPECT_EQ(d["metrics"][0]["b"], 8.0);
  EXPECT_EQ(d["metrics"][0]["difference"], -2.0);
  EXPECT_EQ(d["metrics"][0]["settings"]["iteration"], 1000);
  EXPECT_EQ(reports::render_diff(diff),
            "a: run adm-s0\nb: run ip-s0\n\n"
            "config (a -> b)\n"
            "  + data.flip: true\n"
            "  - model.ch: 128\n"
            "  train.lr: 0.0001 -> 0.0002\n\n"
            "metrics (a -> b)\n"
            "  iteration=1000 steps=50 sampler=ancestral eta=0 ema=0.9999 num_samples=1000\n"
            "    fid: 10 -> 8 (-2)\n\n"
            "results of a only, at\n"
            "  iteration=1000 steps=100 sampler=ancestral eta=0 ema=0.9999 num_samples=1000\n\n"
            "results of b only, at\n"
            "  iteration=2000 steps=50 sampler=ancestral eta=0 ema=0.9999 num_samples=1000\n");
  const auto same = reports::diff_runs(store(), "adm-s1", "adm-s1");
  EXPECT_TRUE(same["config"].empty());
  EXPECT_NE(reports::render_diff(same).find("config: identical\n"), std::string::npos);
}

TEST_F(Inspect, CommandsFindTheStoreAndTheExperiment) {
  store_.reset();
  reports::ResultsArgs args;
  args.where.project = dir_.path().string();
  args.format = "json";
  std::ostringstream out, err;
  EXPECT_EQ(reports::results_command(args, out, err), 0);
  EXPECT_EQ(json::parse(out.str()).size(), 5u);

  args.format = "xml";
  EXPECT_THROW(reports::results_command(args, out, err), ConfigError);
  args.format = "csv";
  args.experiment = "nope";
  EXPECT_NE(error_message([&] { reports::results_command(args, out, err); }).find("no experiment 'nope'"),
            std::string::npos);
  {
    Store store(dir_.file("repro.db"));
    fill_store(store, "other", {{"zz", "0", 10, 5, {{"fid", 1.0}}}}, "/runs");
  }
  args.experiment = "";
  const std::string several = error_message([&] { reports::results_command(args, out, err); });
  EXPECT_NE(several.find("name one of: "), std::string::npos) << several;
  EXPECT_NE(several.find("other"), std::string::npos) << several;

  reports::ShowArgs show;
  show.where.project = dir_.path().string();
  show.id = "ip-s0-e";  // a prefix of two eval tasks
  EXPECT_THROW(reports::show_command(show, out, err), ConfigError);
  show.id = "ip-s0-eval-2";
  show.json = true;
  std::ostringstream shown;
  EXPECT_EQ(reports::show_command(show, shown, err), 0);
  EXPECT_EQ(json::parse(shown.str())["task"], "ip-s0-eval-2000-50");

  reports::DiffArgs diff;
  diff.where.db = dir_.file("missing.db");
  diff.run_a = "adm-s0";
  diff.run_b = "ip";
  EXPECT_THROW(reports::diff_command(diff, out, err), ConfigError);
}

}  // namespace
// Results that differ only in Epsilon Scaling or the chain's start are different settings (rows of
// `repro results`, keys of `repro diff`); their neutral values are what older specs mean.
TEST(InspectSettings, EpsScaleAndStartTAreSettings) {
  const auto& names = reports::sampling_settings();
  auto value_of = [&](const std::string& spec, const std::string& name) {
    const auto values = reports::setting_values(spec);
    for (size_t i = 0; i < names.size(); ++i)
      if (names[i].first == name) return values[i];
    return json();
  };
  EXPECT_EQ(value_of(R"({"steps": 100})", "eps_scale"), json("1"));
  EXPECT_EQ(value_of(R"({"steps": 100})", "start_t"), json(0));
  EXPECT_EQ(value_of(R"({"steps": 100, "eps_scale_b": 1.017})", "eps_scale"), json("1.017"));
  EXPECT_EQ(value_of(R"({"steps": 100, "eps_scale_k": 0.001})", "eps_scale"), json("1+0.001i"));
  EXPECT_EQ(value_of(R"({"steps": 1000, "start_t": 300})", "start_t"), json(300));
  EXPECT_TRUE(value_of("not json", "eps_scale").is_null());
  EXPECT_TRUE(reports::at_neutral_value("eps_scale", json("1")));
  EXPECT_TRUE(reports::at_neutral_value("start_t", json(0)));
  EXPECT_FALSE(reports::at_neutral_value("eps_scale", json("1.017")));
  EXPECT_FALSE(reports::at_neutral_value("start_t", json(300)));
  EXPECT_FALSE(reports::at_neutral_value("steps", json(0)));
}

}  // namespace repro::test
