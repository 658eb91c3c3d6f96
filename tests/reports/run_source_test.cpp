// The `source` dimension: "released" for a run from a checkpoint file (its stored config, the
// run's identity, has a "checkpoint" member), "trained" otherwise. A report table names it like
// any other dimension; repro results and show tell the two apart. The store holds one run of
// each, put the way `repro run` puts them (a released run has sample and eval tasks only, its
// sample spec's checkpoint_step is the checkpoint's iteration); the numbers are set by hand.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/util/sha256.h"
#include "config/strict_yaml.h"
#include "reports/inspect.h"
#include "reports/observations.h"
#include "reports/render.h"
#include "reports/report.h"
#include "reports/report_figures.h"
#include "reports/report_spec.h"
#include "store/records.h"
#include "store/store.h"
#include "tests/support/test_support.h"

namespace repro::test {
namespace {

using nlohmann::json;

const std::string kSha = std::string(64, 'c');

// One run of experiment "rel": its `weights` axis label, whether it is released, and FID per
// checkpoint step.
struct SourceRun {
  std::string weights;
  bool released = false;
  std::vector<std::pair<int64_t, double>> fids;
};

// The identity configs of runner/experiment/expand.cpp: a trained run's resolved config, a
// released run's {"checkpoint": {"sha256"}, "diffusion", "model"}.
json config_of(const SourceRun& r) {
  const json model = {{"num_channels", 32}}, diffusion = {{"diffusion_steps", 20}};
  if (r.released) return {{"checkpoint", {{"sha256", kSha}}}, {"diffusion", diffusion}, {"model", model}};
  return {{"data", {{"path", "/d.npz"}}}, {"diffusion", diffusion}, {"model", model}, {"train", {{"seed", 0}}}};
}

void fill(runner::Store& store, const std::vector<SourceRun>& runs, const std::string& root) {
  runner::put_experiment(store, {"rel", "experiments/rel.yaml", std::string(64, 'a')});
  for (size_t p = 0; p < runs.size(); ++p) {
    const SourceRun& r = runs[p];
    const std::string run = "rel-" + r.weights;
    runner::put_run(store, {run, "rel", json{{"weights", r.weights}}.dump(), static_cast<int64_t>(p),
                            config_of(r).dump(), root + "/" + run});
    if (!r.released) runner::put_task(store, {run + "-train", run, runner::TaskKind::kTrain, "{}"});
    for (const auto& [iteration, fid] : r.fids) {
      json spec = {{"batch_size", 64},     {"checkpoint_step", iteration}, {"ema", "0.9999"}, {"eta", 0.0},
                   {"num_samples", 50000}, {"sampler", "ancestral"},       {"seed", 0},       {"steps", 50}};
      if (r.released) spec["checkpoint_sha256"] = kSha;
      const std::string sample = run + "-sample-" + std::to_string(iteration),
                        eval = run + "-eval-" + std::to_string(iteration);
      runner::put_task(store, {sample, run, runner::TaskKind::kSample, spec.dump()});
      runner::put_task(store,
                       {eval, run, runner::TaskKind::kEval, json{{"samples_of", sample}, {"metrics", {"fid"}}}.dump()});
      runner::put_result(store, {eval, run, eval, "fid", fid, json{{"comparable_with_published", true}}.dump()});
    }
  }
}

// Ours at iterations 500 and 1000; the authors' released weights, from their iteration 2.
const std::vector<SourceRun> kRuns = {{"ours", false, {{500, 4.0}, {1000, 3.2}}}, {"authors", true, {{2, 2.9}}}};

reports::Report report_of(runner::Store& store, const std::string& spec_yaml) {
  reports::ReportInput in;
  in.experiment = "rel";
  in.axes = {{"weights", {"ours", "authors"}}};
  in.sample_grids = false;
  if (!spec_yaml.empty())
    in.spec = reports::read_report_spec(config::load_yaml_string(spec_yaml, "exp.yaml"), "exp.yaml", {"weights"});
  return reports::build_report(store, in);
}

// The lines of `text` from the one that starts with `first` up to the first empty line.
std::string block_from(const std::string& text, const std::string& first) {
  const size_t at = text.find(first);
  if (at == std::string::npos) return "";
  const size_t end = text.find("\n\n", at);
  return text.substr(at, end == std::string::npos ? std::string::npos : end - at + 1);
}

class RunSource : public ::testing::Test {
 protected:
  void SetUp() override { fill(store_, kRuns, dir_.path().string()); }
  TempDir dir_;
  runner::Store store_{dir_.file("repro.db")};
};

TEST_F(RunSource, ObservationsCarryTheSourceOfTheirRun) {
  std::map<std::string, std::pair<std::string, std::string>> by_task;  // eval task -> source, iteration
  for (const auto& o : reports::collect_observations(store_, "rel"))
    by_task[o.eval_task] = {o.dims.at("source"), o.dims.at("iteration")};
  EXPECT_EQ(by_task, (std::map<std::string, std::pair<std::string, std::string>>{
                         {"rel-ours-eval-500", {"trained", "500"}},
                         {"rel-ours-eval-1000", {"trained", "1000"}},
                         {"rel-authors-eval-2", {"released", "2"}}}));  // the checkpoint's iteration
}

// Rows source and iteration: both runs side by side, in markdown and CSV, with their own numbers.
TEST_F(RunSource, ATableNamesSourceAsARowDimension) {
  const auto r = report_of(store_, R"(tables:
  - id: src
    rows: [source, iteration]
    metrics: [fid]
)");
  const auto& t = r.tables.at(0);
  // Values of source ascending (no axis declares them): released before trained.
  EXPECT_EQ(t.row_keys,
            (std::vector<std::vector<std::string>>{{"released", "2"}, {"trained", "500"}, {"trained", "1000"}}));
  EXPECT_EQ(block_from(reports::render_markdown(r), "| source |"),
            "| source | iteration | FID |\n"
            "|---|---|---|\n"
            "| released | 2 | **2.90** |\n"
            "| trained | 500 | 4.00 |\n"
            "| trained | 1000 | 3.20 |\n");
  const std::string csv = reports::render_csv(r);
  EXPECT_EQ(csv.substr(0, csv.find('\n')),
            "experiment,table,source,iteration,metric,mean,std,n,published,difference,verdict,best,note,runs,"
            "picked,warnings,marks,banners");
  for (const char* row :
       {"\nrel,src,released,2,fid,2.9,0,1,,,no published value,true,,rel-authors,"
        "ema=0.9999;eps_scale=1;eta=0;num_samples=50000;sampler=ancestral;start_t=0;steps=50;weights=authors,,,\n",
        "\nrel,src,trained,500,fid,4,0,1,,,no published value,false,,rel-ours,",
        "\nrel,src,trained,1000,fid,3.2,0,1,,,no published value,false,,rel-ours,"})
    EXPECT_NE(csv.find(row), std::string::npos) << row << "\nnot in:\n" << csv;
  const json j = reports::report_json(r);
  const json& values = j["values"];
  ASSERT_EQ(values.size(), 3u) << j.dump(2);
  EXPECT_EQ(values[0]["dims"], json({{"iteration", "2"}, {"source", "released"}}));
  EXPECT_EQ(values[0]["mean"], 2.9);
  EXPECT_EQ(values[2]["dims"], json({{"iteration", "1000"}, {"source", "trained"}}));
  EXPECT_EQ(values[2]["mean"], 3.2);
}

// A table that does not name source shows both runs (they are cells of their own: the axis tells
// them apart), each with its source among the picked values; `where:` can keep one.
TEST_F(RunSource, TablesThatDoNotNameSourceShowBothAndWhereSelects) {
  const auto r = report_of(store_, R"(tables:
  - {id: by_weights, rows: [weights], metrics: [fid]}
  - {id: released_only, rows: [weights], metrics: [fid], where: {source: released}}
)");
  const auto& t = r.tables.at(0);
  ASSERT_EQ(t.row_keys, (std::vector<std::vector<std::string>>{{"ours"}, {"authors"}}));  // the axis's order
  EXPECT_DOUBLE_EQ(t.cells[0][0].ours->mean, 3.2);                                        // the last iteration
  EXPECT_EQ(t.cells[0][0].picked.at("source"), "trained");
  EXPECT_DOUBLE_EQ(t.cells[1][0].ours->mean, 2.9);
  EXPECT_EQ(t.cells[1][0].picked.at("source"), "released");
  EXPECT_EQ(t.cells[1][0].picked.at("iteration"), "2");
  const auto& w = r.tables.at(1);
  ASSERT_EQ(w.row_keys, (std::vector<std::vector<std::string>>{{"authors"}}));
  EXPECT_DOUBLE_EQ(w.cells[0][0].ours->mean, 2.9);
}

// Without a report: section, source is a row of the default table when it takes both values.
TEST_F(RunSource, TheDefaultTableTakesSourceWhenItVaries) {
  const auto r = report_of(store_, "");
  EXPECT_EQ(r.tables.at(0).spec.rows, (std::vector<std::string>{"weights", "source", "iteration"}));
  // Another experiment that shares the trained run alone: source is the same everywhere.
  runner::put_experiment(store_, {"plain", "experiments/plain.yaml", std::string(64, 'b')});
  runner::put_run(store_, {"rel-ours", "plain", R"({"weights": "ours"})", 0, config_of(kRuns[0]).dump(), "/r"});
  reports::ReportInput in;
  in.experiment = "plain";
  in.sample_grids = false;
  EXPECT_EQ(reports::build_report(store_, in).tables.at(0).spec.rows,
            (std::vector<std::string>{"weights", "iteration"}));
}

// Sample grids of a table with rows [source]: the trained and the released weights side by side.
TEST_F(RunSource, SampleGridsStandSideBySideBySource) {
  for (const std::string task : {"rel-ours-sample-1000", "rel-authors-sample-2"}) {
    const std::string run = task.substr(0, task.find("-sample")), rel = "samples/" + task + ".png";
    const std::filesystem::path png = dir_.path() / run / rel;
    std::filesystem::create_directories(png.parent_path());
    ASSERT_EQ(
        run_python("from PIL import Image\nImage.new('RGB', (34, 34), (90, 10, 20)).save('" + png.string() + "')\n",
                   png.parent_path()),
        0);
    runner::put_artifact(store_, {task, rel, sha256_file_hex(png.string()), std::nullopt});
  }
  reports::ReportInput in;
  in.experiment = "rel";
  in.axes = {{"weights", {"ours", "authors"}}};
  in.spec = reports::read_report_spec(
      config::load_yaml_string("tables: [{id: src, rows: [source], metrics: [fid]}]", "exp.yaml"), "exp.yaml",
      {"weights"});
  const reports::Report r = reports::build_report(store_, in);
  const auto tables = reports::grid_tables(r.grids);
  ASSERT_EQ(tables.size(), 1u);
  EXPECT_EQ(tables[0].sides, (std::vector<std::string>{"trained", "released"}));   // matrix order
  ASSERT_EQ(tables[0].rows.size(), 1u);                                            // one steps value
  EXPECT_EQ(tables[0].rows[0].second.at(0)->sample_task, "rel-ours-sample-1000");  // the latest iteration
  EXPECT_EQ(tables[0].rows[0].second.at(1)->sample_task, "rel-authors-sample-2");
}

// An axis named source wins over the run's source, as axes do over eps_scale and start_t.
TEST(RunSourceAxis, AnAxisNamedSourceWins) {
  TempDir dir;
  runner::Store store(dir.file("repro.db"));
  runner::put_experiment(store, {"ax", "experiments/ax.yaml", std::string(64, 'a')});
  runner::put_run(store, {"ax-r", "ax", R"({"source": "paper"})", 0, config_of({"x", true, {}}).dump(), "/r"});
  runner::put_task(store, {"ax-r-eval", "ax-r", runner::TaskKind::kEval, "{}"});
  runner::put_result(store, {"ax-r-eval", "ax-r", "ax-r-eval", "fid", 1.0, "{}"});
  const auto obs = reports::collect_observations(store, "ax");
  ASSERT_EQ(obs.size(), 1u);
  EXPECT_EQ(obs[0].dims.at("source"), "paper");
}

// repro results: a source column after run once a released run is shown, a --where key always,
// and a member of every JSON row.
TEST_F(RunSource, ResultsListTheSource) {
  const reports::ResultsTable t = reports::results_table(store_, "rel", {}, false);
  ASSERT_TRUE(t.with_source);
  EXPECT_EQ(reports::render_results_csv(t),
            "weights,run,source,iteration,steps,sampler,eta,ema,num_samples,eps_scale,start_t,fid\n"
            "ours,rel-ours,trained,1000,50,ancestral,0,0.9999,50000,1,0,3.2\n"
            "ours,rel-ours,trained,500,50,ancestral,0,0.9999,50000,1,0,4\n"
            "authors,rel-authors,released,2,50,ancestral,0,0.9999,50000,1,0,2.9\n");
  const json j = json::parse(reports::render_results_json(t));
  ASSERT_EQ(j.size(), 3u);
  EXPECT_EQ(j[0]["source"], "trained");
  EXPECT_EQ(j[2]["source"], "released");
  // Filtering on source; only trained rows shown: no source column.
  const reports::ResultsTable trained = reports::results_table(store_, "rel", {"source=trained"}, false);
  ASSERT_EQ(trained.rows.size(), 2u);
  EXPECT_FALSE(trained.with_source);
  EXPECT_EQ(reports::results_header(trained)[2], "iteration");
  const reports::ResultsTable released = reports::results_table(store_, "rel", {"source=released"}, false);
  ASSERT_EQ(released.rows.size(), 1u);
  EXPECT_EQ(released.rows[0].run_id, "rel-authors");
}

TEST_F(RunSource, ShowNamesTheSourceAndTheCheckpointDigest) {
  const auto released = reports::show_run(store_, "rel-authors");
  EXPECT_EQ(released["source"], "released");
  EXPECT_NE(reports::render_show(released).find("  source     released (checkpoint sha256 " + kSha + ")\n"),
            std::string::npos)
      << reports::render_show(released);
  const auto trained = reports::show_run(store_, "rel-ours");
  EXPECT_EQ(trained["source"], "trained");
  EXPECT_NE(reports::render_show(trained).find("  source     trained\n"), std::string::npos);
}

}  // namespace
}  // namespace repro::test
