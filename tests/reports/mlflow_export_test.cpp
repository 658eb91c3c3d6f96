// repro export mlflow: a hand-built store exported, then read back by tests/python/read_mlflow_store.py
// (FileStore's reading rules transcribed, with Debian's PyYAML; MLflow itself is not in Debian), and
// every value compared with the one put in the store.
#include "reports/mlflow_export.h"

#include <SQLiteCpp/Statement.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "base/util/errors.h"
#include "base/util/file_io.h"
#include "store/records.h"
#include "store/store.h"
#include "tests/store/store_fixture.h"
#include "tests/support/test_support.h"

namespace repro::test {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using runner::TaskKind;
using runner::TaskState;

void put_metric(runner::Store& store, const std::string& task, const std::string& name, int64_t step, double value) {
  SQLite::Statement ins(store.db(), "INSERT INTO metrics (task_id, name, step, value, seq) VALUES (?, ?, ?, ?, ?)");
  ins.bind(1, task);
  ins.bind(2, name);
  ins.bind(3, step);
  ins.bind(4, value);
  ins.bind(5, step);
  ins.exec();
}

// A sample task at (iteration, steps) and its eval task with `results`, put at time `at`.
void put_evaluation(runner::Store& store, FakeClock& clock, const std::string& run, const std::string& tag,
                    int64_t iteration, int steps, const std::map<std::string, double>& results) {
  const std::string sample = run + "-sample-" + tag, eval = run + "-eval-" + tag;
  const json spec = {
      {"checkpoint_step", iteration}, {"steps", steps}, {"sampler", "ancestral"}, {"eta", 0.0}, {"ema", "0.9999"},
      {"num_samples", 1000}};
  runner::put_task(store, {sample, run, TaskKind::kSample, spec.dump()});
  runner::put_task(store, {eval, run, TaskKind::kEval, json{{"samples_of", sample}}.dump()});
  clock.now = 1700005000.0;
  for (const auto& [metric, value] : results)
    runner::put_result(store, {eval, run, eval, metric, value, R"({"features":"test"})"});
}

// Experiment "table3": r-adm (done, curves, results, artifacts, provenance), r-ip (failed, no
// attempt), r-old (running, of an earlier expansion: stale). Experiment "ablation" shares r-adm.
struct ExportFixture {
  TempDir dir;
  FakeClock clock;  // 1.7e9 = 2023-11-14T22:13:20Z
  std::string run_dir = (dir.path() / "runs" / "r-adm").string();
  std::string db = dir.file("repro.db");
  std::string out = dir.file("mlruns");

  ExportFixture() {
    runner::Store store(db, options_with(&clock));
    runner::put_experiment(store, {"table3", "experiments/table3.yaml", std::string(64, 'a')});
    const json config = {{"train", {{"lr", 0.0001}, {"batch_size", 128}}},
                         {"model", {{"num_channels", 64}, {"attention_resolutions", {16, 8}}}},
                         {"dataset", "cifar10"},
                         {"extra", {{"a:b", 1}}}};
    runner::put_run(store, {"r-adm", "table3", R"({"method":"adm","seed":"0"})", 0, config.dump(), run_dir});
    clock.now = 1700000010.0;
    runner::put_run(
        store, {"r-ip", "table3", R"({"method":"adm-ip","seed":"0"})", 1, R"({"train":{"lr":0.0002}})", "runs/r-ip"});
    clock.now = 1700000020.0;
    runner::set_run_status(store, "r-ip", TaskState::kFailed);
    runner::put_run(store, {"r-old", "table3", R"({"method":"ddim","seed":"1"})", 2, "{}", "runs/r-old"});
    runner::set_run_status(store, "r-old", TaskState::kRunning);
    runner::set_current_expansion(store, "table3", {"r-adm", "r-ip"});
    runner::put_experiment(store, {"ablation", "experiments/ablation.yaml", std::string(64, 'b')});
    runner::put_run(store, {"r-adm", "ablation", R"({"method":"adm"})", 0, "{}", run_dir});
    put_adm(store);
  }

  void put_adm(runner::Store& store) {
    runner::put_task(store, {"r-adm-train", "r-adm", TaskKind::kTrain, "{}"});
    const int a = runner::begin_attempt(
        store, {"r-adm-train", runner::ExecutorKind::kLocal, "1", "node1", "0", "log", 1700000100.0});
    runner::end_attempt(store, "r-adm-train", a, {0, "", 1700003700.0});
    runner::set_run_status(store, "r-adm", TaskState::kDone);
    for (const auto& [step, loss] : std::map<int64_t, double>{{0, 0.5}, {100, 0.25}, {200, 0.125}})
      put_metric(store, "r-adm-train", "loss", step, loss);
    put_metric(store, "r-adm-train", "grad_norm", 0, 2.0);
    put_metric(store, "r-adm-train", "time", 0, 1700000200.5);  // no time at step 200: the attempt's start
    put_metric(store, "r-adm-train", "time", 100, 1700000300.25);
    put_evaluation(store, clock, "r-adm", "a", 1000, 100, {{"fid", 10.5}});
    put_evaluation(store, clock, "r-adm", "b", 2000, 100, {{"fid", 8.25}, {"sfid", 6.5}});
    put_evaluation(store, clock, "r-adm", "c", 2000, 25, {{"fid", 12.0}});
    runner::put_provenance(store, "r-adm", "", {{"git_commit", "0123abc"}, {"libtorch_version", "2.1.0"}});
    runner::put_provenance(store, "r-adm", "r-adm-train", {{"host", "node1"}});
    runner::put_provenance(store, "r-adm", "r-adm-sample-a", {{"host", "node2"}});
    fs::create_directories(run_dir + "/checkpoints");
    fs::create_directories(run_dir + "/samples");
    write_file_atomic(run_dir + "/checkpoints/model001000.pt", "ckpt");
    write_file_atomic(run_dir + "/samples/a.npz", "npz");
    runner::put_artifact(store, {"r-adm-train", "checkpoints/model001000.pt", "ab12", 4});
    runner::put_artifact(store, {"r-adm-train", "checkpoints/model002000.pt", "", std::nullopt});  // not on disk
    runner::put_artifact(store, {"r-adm-sample-a", "samples/a.npz", "", 3});
  }

  reports::MlflowExportSummary export_all(const std::string& experiment = "") {
    runner::StoreOptions options;
    options.read_only = true;
    runner::Store store(db, options);
    reports::MlflowExportOptions o;
    o.out_dir = out;
    o.experiment = experiment;
    o.project_dir = dir.path().string();
    o.user = "tester";
    return reports::export_mlflow(store, o);
  }

  // What read_mlflow_store.py read; fails the test when the script refuses the tree.
  json read_back() {
    const std::string dump = dir.file("read.json");
    std::string output;
    const int rc = run_command(
        python_interpreter() + " " + source_dir() + "/tests/python/read_mlflow_store.py " + out + " " + dump, &output);
    EXPECT_EQ(rc, 0) << output;
    return json::parse(read_text(dump), nullptr, false);
  }
};

std::string abs_out(const ExportFixture& f) { return fs::absolute(f.out).lexically_normal().string(); }

TEST(MlflowExport, ExperimentsReadBackAsFileStoreDoes) {
  ExportFixture f;
  const auto summary = f.export_all();
  const json store = f.read_back();
  ASSERT_TRUE(store.is_object());
  const std::string table3 = reports::mlflow_experiment_id("table3"),
                    ablation = reports::mlflow_experiment_id("ablation");
  std::set<std::string> ids;
  for (const auto& [id, e] : store["experiments"].items()) ids.insert(id);
  EXPECT_EQ(ids, (std::set<std::string>{"0", table3, ablation}));
  const json& meta = store["experiments"][table3]["meta"];
  EXPECT_EQ(meta["name"], "table3");
  EXPECT_EQ(meta["experiment_id"], table3);  // a string, not an int
  EXPECT_EQ(meta["lifecycle_stage"], "active");
  EXPECT_EQ(meta["creation_time"], 1700000000000LL);
  EXPECT_EQ(meta["artifact_location"], "file://" + abs_out(f) + "/" + table3);
  EXPECT_EQ(store["experiments"]["0"]["meta"]["name"], "Default");
  EXPECT_EQ(store["experiments"][table3]["tags"]["repro.file"], "experiments/table3.yaml");
  EXPECT_EQ(store["experiments"][table3]["runs"].size(), 3u);
  EXPECT_EQ(store["experiments"][ablation]["runs"].size(), 1u);
  // r-adm in both experiments: two MLflow runs with different ids (read_mlflow_store.py checks too).
  EXPECT_NE(reports::mlflow_run_id("table3", "r-adm"), reports::mlflow_run_id("ablation", "r-adm"));
  EXPECT_EQ(summary.runs, 4);
  EXPECT_EQ(summary.stale_runs, 1);
  EXPECT_EQ(summary.artifacts_linked, 4);  // r-adm's two, in each experiment
  EXPECT_EQ(summary.artifacts_missing, 2);
  EXPECT_TRUE(fs::exists(fs::path(f.out) / ".trash"));
}

TEST(MlflowExport, RunHasParamsMetricsTagsAndStatus) {
  ExportFixture f;
  f.export_all();
  const json store = f.read_back();
  const std::string exp = reports::mlflow_experiment_id("table3"), id = reports::mlflow_run_id("table3", "r-adm");
  ASSERT_TRUE(store["experiments"][exp]["runs"].contains(id));
  const json& run = store["experiments"][exp]["runs"][id];
  EXPECT_EQ(run["meta"]["status"], 3);  // FINISHED
  EXPECT_EQ(run["meta"]["start_time"], 1700000100000LL);
  EXPECT_EQ(run["meta"]["end_time"], 1700003700000LL);
  EXPECT_EQ(run["meta"]["run_name"], "method=adm, seed=0");
  EXPECT_EQ(run["meta"]["user_id"], "tester");
  EXPECT_EQ(run["meta"]["artifact_uri"], "file://" + abs_out(f) + "/" + exp + "/" + id + "/artifacts");
  EXPECT_EQ(run["params"], (json{{"train.lr", "0.0001"},
                                 {"train.batch_size", "128"},
                                 {"model.num_channels", "64"},
                                 {"model.attention_resolutions", "[16,8]"},
                                 {"dataset", "cifar10"},
                                 {"extra.a_b", "1"},
                                 {"axis.method", "adm"},
                                 {"axis.seed", "0"}}));
  const json& m = run["metrics"];
  EXPECT_EQ(m["loss"], json::parse("[[1700000200500,0.5,0],[1700000300250,0.25,100],[1700000100000,0.125,200]]"));
  EXPECT_EQ(m["grad_norm"], json::parse("[[1700000200500,2.0,0]]"));
  EXPECT_FALSE(m.contains("time"));  // it is each point's timestamp
  EXPECT_EQ(m["fid/steps_100"], json::parse("[[1700005000000,10.5,1000],[1700005000000,8.25,2000]]"));
  EXPECT_EQ(m["fid/steps_25"], json::parse("[[1700005000000,12.0,2000]]"));
  EXPECT_EQ(m["sfid/steps_100"], json::parse("[[1700005000000,6.5,2000]]"));
  const json& t = run["tags"];
  EXPECT_EQ(t["mlflow.runName"], "method=adm, seed=0");
  EXPECT_EQ(t["repro.run_id"], "r-adm");
  EXPECT_EQ(t["repro.stale"], "false");
  EXPECT_EQ(t["repro.status"], "done");
  EXPECT_EQ(t["mlflow.user"], "tester");
  EXPECT_EQ(t["provenance.git_commit"], "0123abc");
  EXPECT_EQ(t["mlflow.source.git.commit"], "0123abc");
  EXPECT_EQ(t["provenance.libtorch_version"], "2.1.0");
  EXPECT_EQ(t["provenance.host"], "node1 | node2");
}

TEST(MlflowExport, StatusMapsAndStaleRunsAreTagged) {
  ExportFixture f;
  f.export_all();
  const json store = f.read_back();
  const json& runs = store["experiments"][reports::mlflow_experiment_id("table3")]["runs"];
  const json& ip = runs[reports::mlflow_run_id("table3", "r-ip")];
  EXPECT_EQ(ip["meta"]["status"], 4);                    // FAILED
  EXPECT_EQ(ip["meta"]["start_time"], 1700000010000LL);  // no attempt: when the run was put
  EXPECT_EQ(ip["meta"]["end_time"], 1700000020000LL);    // and when its status last changed
  EXPECT_EQ(ip["tags"]["repro.stale"], "false");
  EXPECT_TRUE(ip["metrics"].empty());
  const json& old = runs[reports::mlflow_run_id("table3", "r-old")];
  EXPECT_EQ(old["meta"]["status"], 1);  // RUNNING
  EXPECT_TRUE(old["meta"]["end_time"].is_null());
  EXPECT_EQ(old["tags"]["repro.stale"], "true");
  EXPECT_EQ(old["tags"]["mlflow.runName"], "method=ddim, seed=1");
}

TEST(MlflowExport, ArtifactsAreLinkedAndListed) {
  ExportFixture f;
  f.export_all();
  const json store = f.read_back();
  const json& a = store["experiments"][reports::mlflow_experiment_id("table3")]["runs"]
                       [reports::mlflow_run_id("table3", "r-adm")]["artifacts"];
  EXPECT_EQ(a["checkpoints/model001000.pt"]["link"], f.run_dir + "/checkpoints/model001000.pt");
  EXPECT_TRUE(a["checkpoints/model001000.pt"]["is_file"]);
  EXPECT_EQ(a["samples/a.npz"]["link"], f.run_dir + "/samples/a.npz");
  EXPECT_FALSE(a.contains("checkpoints/model002000.pt"));
  ASSERT_TRUE(a.contains("repro_artifacts.tsv"));
  const auto lines = read_lines((fs::path(f.out) / reports::mlflow_experiment_id("table3") /
                                 reports::mlflow_run_id("table3", "r-adm") / "artifacts" / "repro_artifacts.tsv")
                                    .string());
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[2], "checkpoints/model001000.pt\tr-adm-train\tab12\t4\tlinked");
  EXPECT_EQ(lines[3],
            "checkpoints/model002000.pt\tr-adm-train\t\t\tmissing: " + f.run_dir + "/checkpoints/model002000.pt");
}

TEST(MlflowExport, ReExportReplacesTheTreeAndKeepsIds) {
  ExportFixture f;
  f.export_all();
  {
    FakeClock later{1700009000.0};
    runner::Store store(f.db, options_with(&later));
    runner::put_result(store, {"r-adm-eval-a", "r-adm", "r-adm-eval-a", "fid", 9.75, R"({"features":"test"})"});
  }
  const auto summary = f.export_all("table3");
  EXPECT_EQ(summary.experiments.size(), 1u);
  const json store = f.read_back();
  EXPECT_FALSE(store["experiments"].contains(reports::mlflow_experiment_id("ablation")));
  const json& m = store["experiments"][reports::mlflow_experiment_id("table3")]["runs"]
                       [reports::mlflow_run_id("table3", "r-adm")]["metrics"];
  EXPECT_EQ(m["fid/steps_100"][0], json::parse("[1700009000000,9.75,1000]"));
  for (const auto& entry : fs::directory_iterator(f.dir.path()))
    EXPECT_EQ(entry.path().filename().string().find("mlruns."), std::string::npos) << entry.path();
}

TEST(MlflowExport, RefusesToReplaceWhatIsNotAnExport) {
  ExportFixture f;
  fs::create_directories(f.out);
  write_file_atomic(f.out + "/notes.txt", "mine");
  EXPECT_THROW(f.export_all(), ConfigError);
  EXPECT_EQ(read_text(f.out + "/notes.txt"), "mine");
  EXPECT_NE(error_message([&] { f.export_all("nope"); }).find("no experiment 'nope'"), std::string::npos);
}

TEST(MlflowExport, CommandPrintsWhatItWrote) {
  ExportFixture f;
  reports::ExportArgs args;
  args.where.db = f.db;
  args.where.project = f.dir.path().string();
  args.out_dir = f.out;
  std::ostringstream out, err;
  EXPECT_EQ(reports::export_command(args, out, err), 0);
  EXPECT_NE(out.str().find("experiment table3: id " + reports::mlflow_experiment_id("table3") + ", 3 runs\n"),
            std::string::npos)
      << out.str();
  EXPECT_NE(out.str().find(": 2 experiments, 4 runs (1 stale), "), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("4 artifacts linked (2 not linked"), std::string::npos) << out.str();
  args.where.db = f.dir.file("absent.db");
  EXPECT_THROW(reports::export_command(args, out, err), ConfigError);
}

TEST(MlflowExport, KeysFollowMlflowNameRules) {
  EXPECT_EQ(reports::mlflow_key("train.lr"), "train.lr");
  EXPECT_EQ(reports::mlflow_key("fid/steps_100"), "fid/steps_100");
  EXPECT_EQ(reports::mlflow_key("a:b c"), "a_b c");
  EXPECT_EQ(reports::mlflow_key("/x//y/"), "x/y");
  EXPECT_EQ(reports::mlflow_key("a/../b"), "a/_/b");
  EXPECT_EQ(reports::mlflow_key("."), "_");
  EXPECT_EQ(reports::mlflow_key(""), "_");
  EXPECT_EQ(reports::mlflow_key("caf\xc3\xa9"), "caf_");  // one character, one '_'
  EXPECT_EQ(reports::mlflow_key(std::string(300, 'k')).size(), 250u);
  EXPECT_EQ(reports::mlflow_experiment_id("table3"), reports::mlflow_experiment_id("table3"));
  for (int i = 0; i < 200; ++i) {  // ~13% of 15-hex-digit values have 19 decimal digits
    const std::string id = reports::mlflow_experiment_id("experiment " + std::to_string(i));
    EXPECT_LE(id.size(), 18u) << id;
    EXPECT_EQ(id.find_first_not_of("0123456789"), std::string::npos) << id;
    EXPECT_NE(id, "0");
  }
  EXPECT_EQ(reports::mlflow_run_id("table3", "r-adm").size(), 32u);
}

}  // namespace
}  // namespace repro::test
