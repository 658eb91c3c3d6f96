// The paper's experiment files (experiments/*.yaml) as the runner reads them: every file expands
// (without its datasets: expansion checks configs, not data), the matrices hold the paper's cells
// with the paper's hyperparameters (paper-spec Table 9), the files share training runs where the
// paper does, and the `report:` sections follow docs/reports.md with published values that agree
// with a small table transcribed here independently (from paper-spec §1).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "runner/experiment/expand.h"
#include "runner/experiment/experiment_file.h"
#include "runner/plan/cost_estimate.h"
#include "runner/plan/task_graph.h"
#include "tests/runner/stand_in_checkpoints.h"
#include "tests/support/test_support.h"

using namespace repro;
using namespace repro::runner;

namespace {

namespace fs = std::filesystem;

std::string experiment_path(const std::string& name) { return test::source_dir() + "/experiments/" + name + ".yaml"; }

struct Loaded {
  ExperimentFile file;
  Expansion expansion;
};

Loaded load(const std::string& name) {
  Loaded l{read_experiment_file(experiment_path(name)), {}};
  l.expansion = expand(l.file, {test::stand_in_checkpoints_set()});  // released files: stand-ins
  return l;
}

std::string label(const PlannedRun& run, const std::string& axis) {
  for (const auto& [a, l] : run.labels)
    if (a == axis) return l;
  return "";
}

const PlannedRun* find_run(const Expansion& e, const std::map<std::string, std::string>& labels) {
  for (const auto& r : e.runs) {
    bool all = true;
    for (const auto& [axis, l] : labels) all &= label(r, axis) == l;
    if (all) return &r;
  }
  return nullptr;
}

// The published value of `metric` in the report table `table` at the cell whose dimensions are
// `cell` (every listed dimension equal, as text); nullopt when no entry matches.
std::optional<double> published(const ExperimentFile& f, const std::string& table,
                                const std::map<std::string, std::string>& cell, const std::string& metric) {
  for (const auto& t : f.report["tables"]) {
    if (t["id"].Scalar() != table) continue;
    for (const auto& v : t["published"]["values"]) {
      bool all = true;
      for (const auto& [dim, value] : cell) all &= v[dim] && v[dim].Scalar() == value;
      if (all && v[metric]) return v[metric].as<double>();
    }
  }
  return std::nullopt;
}

// Dimensions every result has besides the matrix axes (docs/reports.md).
const std::set<std::string> kEvalDimensions = {"iteration", "steps",       "sampler",   "eta",
                                               "ema",       "num_samples", "eps_scale", "start_t"};
const std::set<std::string> kMetrics = {"fid", "sfid", "is", "precision", "recall", "kid"};

const std::vector<std::string> kPaperFiles = {"table1",     "table2",      "table3",   "table4",
                                              "table5",     "table7",      "table8",   "gamma_ablation",
                                              "fid_curves", "eps_scaling", "released", "released_es"};

// Report tables of the paper's files that have no published numbers (the paper has none for them).
const std::set<std::string> kUnpublishedTables = {"table1_cifar10"};

std::set<std::string> run_ids(const Expansion& e) {
  std::set<std::string> ids;
  for (const auto& r : e.runs) ids.insert(r.run_id);
  return ids;
}

std::map<std::string, const TaskSpec*> by_id(const std::vector<TaskSpec>& tasks) {
  std::map<std::string, const TaskSpec*> out;
  for (const auto& t : tasks) out[t.task_id] = &t;
  return out;
}

}  // namespace

TEST(ExperimentFiles, EveryFileReadsAndExpandsWithoutItsData) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(test::source_dir() + "/experiments"))
    if (entry.path().extension() == ".yaml") names.push_back(entry.path().stem().string());
  for (const auto& want : kPaperFiles)
    EXPECT_NE(std::find(names.begin(), names.end(), want), names.end()) << want << ".yaml is missing";
  for (const auto& name : names) {
    SCOPED_TRACE(name);
    Loaded l = load(name);
    EXPECT_EQ(l.file.name, name);
    EXPECT_FALSE(l.expansion.runs.empty());
    for (const auto& r : l.expansion.runs) EXPECT_TRUE(r.eval.has_value()) << r.label_string();
  }
}

TEST(ExperimentFiles, PaperRunsUseTable9Hyperparameters) {
  // dataset -> (image size, channels, dropout, GPUs, per-GPU batch); paper-spec Table 9.
  struct Row {
    int size, channels;
    double dropout;
    int gpus, batch;
  };
  const std::map<std::string, Row> table9 = {{"cifar10", {32, 128, 0.3, 2, 64}},
                                             {"imagenet32", {32, 128, 0.3, 4, 128}},
                                             {"lsun_tower64", {64, 192, 0.1, 16, 16}},
                                             {"celeba64", {64, 192, 0.1, 16, 16}},
                                             {"ffhq128", {128, 256, 0.1, 16, 8}}};
  for (const std::string name :
       {"table3", "table4", "table8", "fid_curves", "table2", "table7", "gamma_ablation", "table1", "eps_scaling"}) {
    SCOPED_TRACE(name);
    for (const auto& r : load(name).expansion.runs) {
      const std::string dataset = label(r, "dataset").empty() ? "cifar10" : label(r, "dataset");
      const Row& want = table9.at(dataset);
      EXPECT_EQ(r.train.model.image_size, want.size) << r.label_string();
      EXPECT_EQ(r.train.model.num_channels, want.channels) << r.label_string();
      EXPECT_DOUBLE_EQ(r.train.model.dropout, want.dropout) << r.label_string();
      EXPECT_EQ(r.train.train.batch_size, want.batch) << r.label_string();
      EXPECT_EQ(r.train.train.world_size, want.gpus) << r.label_string();
      EXPECT_EQ(r.identity()["train"]["world_size"], want.gpus) << r.label_string();
      EXPECT_EQ(r.train.model.num_res_blocks, 3);
      EXPECT_TRUE(r.train.model.learn_sigma);
      EXPECT_EQ(r.train.diffusion.diffusion_steps, 1000);
      EXPECT_EQ(r.train.diffusion.noise_schedule, "cosine");
      EXPECT_DOUBLE_EQ(r.train.train.lr, 1e-4);
      EXPECT_EQ(r.train.train.optimizer, "adamw");
      EXPECT_EQ(r.train.train.schedule_sampler, "loss-second-moment");
      EXPECT_EQ(r.train.train.ema_rate, std::vector<double>{0.9999});
      EXPECT_EQ(r.train.train.save_interval, 10000);
      EXPECT_NE(r.train.data.path.find("/data/" + dataset + "_train"), std::string::npos) << r.train.data.path;
      EXPECT_EQ(r.eval->num_samples, 50000);
      EXPECT_EQ(r.eval->ema, "0.9999");
      EXPECT_EQ(r.eval->features, "inception");
      EXPECT_NE(r.eval->reference.find("/data/refs/" + dataset), std::string::npos) << r.eval->reference;
      if (r.train.train.method == "adm-ip" || r.train.train.method == "ddpm-y") {
        if (name != "gamma_ablation") EXPECT_DOUBLE_EQ(r.train.train.gamma, 0.1) << r.label_string();
      }
    }
  }
}

TEST(ExperimentFiles, Table3IsFiveDatasetsTimesTwoMethodsAtTheirCheckpoints) {
  Loaded l = load("table3");
  ASSERT_EQ(l.expansion.runs.size(), 10u);
  // (dataset, method) -> the checkpoint behind Table 3's column (paper-spec §1, inferred).
  const std::map<std::pair<std::string, std::string>, int64_t> checkpoint = {
      {{"cifar10", "adm"}, 500000},        {{"cifar10", "adm-ip"}, 460000},   {{"imagenet32", "adm"}, 3500000},
      {{"imagenet32", "adm-ip"}, 3500000}, {{"lsun_tower64", "adm"}, 300000}, {{"lsun_tower64", "adm-ip"}, 220000},
      {{"celeba64", "adm"}, 480000},       {{"celeba64", "adm-ip"}, 300000},  {{"ffhq128", "adm"}, 420000},
      {{"ffhq128", "adm-ip"}, 180000}};
  std::set<std::pair<std::string, std::string>> cells;
  for (const auto& r : l.expansion.runs) {
    const auto key = std::make_pair(label(r, "dataset"), label(r, "method"));
    cells.insert(key);
    ASSERT_TRUE(checkpoint.count(key)) << r.label_string();
    EXPECT_EQ(r.train.train.iterations, checkpoint.at(key)) << r.label_string();
    EXPECT_TRUE(r.eval->at_iterations.empty());  // the final checkpoint
    EXPECT_EQ(r.eval->sampling_steps, (std::vector<int>{1000, 300, 100, 80}));
    EXPECT_EQ(r.eval->sampler, "ancestral");
    EXPECT_EQ(r.eval->metrics, (std::vector<std::string>{"fid", "sfid"}));
    EXPECT_EQ(r.train.train.method, key.second);
    if (key.second == "adm-ip") EXPECT_DOUBLE_EQ(r.train.train.gamma, 0.1);
  }
  EXPECT_EQ(cells.size(), 10u);
}

TEST(ExperimentFiles, FilesShareTheTrainingRunsThePaperShares) {
  const auto t3 = load("table3").expansion;
  const auto adm = find_run(t3, {{"dataset", "cifar10"}, {"method", "adm"}})->run_id;
  const auto ip = find_run(t3, {{"dataset", "cifar10"}, {"method", "adm-ip"}})->run_id;
  EXPECT_NE(adm, ip);
  const auto t2 = load("table2").expansion;
  ASSERT_EQ(t2.runs.size(), 4u);
  EXPECT_EQ(find_run(t2, {{"method", "adm"}})->run_id, adm);
  EXPECT_EQ(find_run(t2, {{"method", "adm-ip"}})->run_id, ip);
  EXPECT_EQ(find_run(t2, {{"method", "adm-gp"}})->train.train.method, "adm-gp");
  EXPECT_EQ(find_run(t2, {{"method", "adm-wd"}})->train.train.method, "adm-wd");
  for (const auto& r : t2.runs) EXPECT_EQ(r.eval->sampling_steps, std::vector<int>{1000});
  const auto t7 = load("table7").expansion;
  ASSERT_EQ(t7.runs.size(), 3u);
  EXPECT_EQ(find_run(t7, {{"method", "adm"}})->run_id, adm);
  EXPECT_EQ(find_run(t7, {{"method", "adm-ip"}})->run_id, ip);
  EXPECT_EQ(find_run(t7, {{"method", "ddpm-y"}})->train.train.method, "ddpm-y");
  const auto gamma = load("gamma_ablation").expansion;
  EXPECT_EQ(find_run(gamma, {{"gamma", "0"}})->run_id, adm);
  EXPECT_EQ(find_run(gamma, {{"gamma", "0.1"}})->run_id, ip);
  const auto curves = load("fid_curves").expansion;
  std::set<std::string> t3_ids, curve_ids;
  for (const auto& r : t3.runs) t3_ids.insert(r.run_id);
  for (const auto& r : curves.runs) curve_ids.insert(r.run_id);
  EXPECT_EQ(t3_ids, curve_ids);
  const auto t4 = load("table4").expansion;
  for (const auto& r : t4.runs) EXPECT_TRUE(t3_ids.count(r.run_id)) << r.label_string();
}

TEST(ExperimentFiles, Table4AndTable8Cells) {
  const auto t4 = load("table4").expansion;
  ASSERT_EQ(t4.runs.size(), 10u);
  // (dataset, method) -> (iterations, sampling steps); paper-spec §1 Table 4.
  const std::map<std::pair<std::string, std::string>, std::pair<int64_t, int>> table4 = {
      {{"cifar10", "adm"}, {500000, 1000}},      {{"cifar10", "adm-ip"}, {460000, 80}},
      {{"imagenet32", "adm"}, {4500000, 1000}},  {{"imagenet32", "adm-ip"}, {4000000, 80}},
      {{"lsun_tower64", "adm"}, {300000, 1000}}, {{"lsun_tower64", "adm-ip"}, {220000, 60}},
      {{"celeba64", "adm"}, {480000, 1000}},     {{"celeba64", "adm-ip"}, {300000, 200}},
      {{"ffhq128", "adm"}, {420000, 1000}},      {{"ffhq128", "adm-ip"}, {180000, 60}}};
  for (const auto& r : t4.runs) {
    const auto want = table4.at({label(r, "dataset"), label(r, "method")});
    EXPECT_EQ(r.train.train.iterations, want.first) << r.label_string();
    EXPECT_EQ(r.eval->sampling_steps, std::vector<int>{want.second}) << r.label_string();
  }
  const auto t8 = load("table8").expansion;
  ASSERT_EQ(t8.runs.size(), 8u);
  for (const auto& r : t8.runs) {
    EXPECT_NE(label(r, "dataset"), "imagenet32");
    EXPECT_EQ(r.eval->metrics, std::vector<std::string>{"pr"});
    EXPECT_EQ(r.eval->sampling_steps, std::vector<int>{1000});
  }
}

TEST(ExperimentFiles, Table5IsDdimWithItsOwnSetup) {
  const auto t5 = load("table5").expansion;
  ASSERT_EQ(t5.runs.size(), 2u);
  for (const auto& r : t5.runs) {
    EXPECT_EQ(r.eval->sampler, "ddim");
    EXPECT_EQ(r.eval->eta, (std::vector<double>{0.0, 0.5}));
    EXPECT_EQ(r.eval->sampling_steps, (std::vector<int>{10, 20, 50, 100, 1000}));
    EXPECT_FALSE(r.train.model.learn_sigma);
    EXPECT_EQ(r.train.model.num_res_blocks, 2);
    EXPECT_EQ(r.train.diffusion.noise_schedule, "linear");
    EXPECT_EQ(r.train.train.optimizer, "adam");
    EXPECT_DOUBLE_EQ(r.train.train.lr, 2e-4);
    EXPECT_DOUBLE_EQ(r.train.train.grad_clip, 1.0);
    EXPECT_EQ(r.train.train.schedule_sampler, "uniform");
  }
  EXPECT_EQ(find_run(t5, {{"method", "ddim"}})->train.train.method, "adm");
  EXPECT_EQ(find_run(t5, {{"method", "ddim-ip"}})->train.train.method, "adm-ip");
}

TEST(ExperimentFiles, GammaAblationAndCurvesEvaluateThePlottedCheckpoints) {
  const auto g = load("gamma_ablation").expansion;
  ASSERT_EQ(g.runs.size(), 4u);
  std::map<std::string, double> gammas;
  for (const auto& r : g.runs) {
    EXPECT_EQ(r.eval->sampling_steps, std::vector<int>{100});
    EXPECT_EQ(r.eval->at_iterations.front(), 140000);
    if (r.train.train.method == "adm-ip") gammas[label(r, "gamma")] = r.train.train.gamma;
  }
  EXPECT_EQ(gammas, (std::map<std::string, double>{{"0.05", 0.05}, {"0.1", 0.1}, {"0.2", 0.2}}));
  const auto c = load("fid_curves").expansion;
  ASSERT_EQ(c.runs.size(), 10u);
  // dataset -> (sampling steps, checkpoints, last checkpoint); paper-spec §1 curve data.
  const std::map<std::string, std::tuple<int, size_t, int64_t>> curves = {{"cifar10", {100, 11, 540000}},
                                                                          {"imagenet32", {1000, 10, 5000000}},
                                                                          {"lsun_tower64", {1000, 8, 340000}},
                                                                          {"celeba64", {1000, 9, 540000}},
                                                                          {"ffhq128", {100, 8, 480000}}};
  for (const auto& r : c.runs) {
    const auto& [steps, count, last] = curves.at(label(r, "dataset"));
    EXPECT_EQ(r.eval->sampling_steps, std::vector<int>{steps}) << r.label_string();
    EXPECT_EQ(r.eval->at_iterations.size(), count) << r.label_string();
    EXPECT_EQ(r.eval->at_iterations.back(), last) << r.label_string();
    EXPECT_EQ(r.train.train.iterations, last) << r.label_string();
  }
}

TEST(ExperimentFiles, ReportSectionsFollowTheSchema) {
  for (const auto& name : kPaperFiles) {
    SCOPED_TRACE(name);
    const ExperimentFile f = read_experiment_file(experiment_path(name));
    std::map<std::string, std::set<std::string>> axes;  // axis -> labels
    for (const auto& a : f.axes)
      for (const auto& v : a.values) axes[a.name].insert(v.label);
    auto known_dimension = [&](const std::string& d) {
      return axes.count(d) || kEvalDimensions.count(d) || d == "metric";
    };
    ASSERT_TRUE(f.report && f.report["tables"] && f.report["tables"].IsSequence());
    std::set<std::string> ids;
    for (const auto& t : f.report["tables"]) {
      const std::string id = t["id"].Scalar();
      EXPECT_TRUE(ids.insert(id).second) << "duplicate table id " << id;
      for (const auto& key : t) {
        static const std::set<std::string> kKeys = {"id",   "title",  "rows", "columns",  "metrics",   "where",
                                                    "pick", "labels", "best", "decimals", "tolerance", "published"};
        EXPECT_TRUE(kKeys.count(key.first.Scalar())) << id << ": unknown key " << key.first.Scalar();
      }
      std::set<std::string> metrics;
      for (const auto& m : t["metrics"]) {
        EXPECT_TRUE(kMetrics.count(m.Scalar())) << m.Scalar();
        metrics.insert(m.Scalar());
      }
      for (const char* section : {"rows", "columns"})
        for (const auto& d : t[section])
          EXPECT_TRUE(known_dimension(d.Scalar())) << id << " " << section << ": " << d.Scalar();
      if (t["where"])
        for (const auto& kv : t["where"]) EXPECT_TRUE(known_dimension(kv.first.Scalar())) << kv.first.Scalar();
      if (t["labels"])
        for (const auto& kv : t["labels"]) {
          const std::string dim = kv.first.Scalar();
          if (!axes.count(dim) && known_dimension(dim)) continue;  // an evaluation dimension's values
          ASSERT_TRUE(axes.count(dim)) << id << ": labels for unknown axis " << dim;
          for (const auto& l : kv.second)
            EXPECT_TRUE(axes[dim].count(l.first.Scalar())) << dim << "." << l.first.Scalar();
        }
      if (t["best"]) {
        const std::string best = t["best"].Scalar();
        EXPECT_TRUE(best == "column" || best == "row" || best == "none") << best;
      }
      if (!t["published"]) {
        EXPECT_TRUE(kUnpublishedTables.count(id)) << id << " has no published values";
        continue;
      }
      ASSERT_TRUE(t["published"]["source"]) << id;
      ASSERT_TRUE(t["published"]["values"].IsSequence()) << id;
      EXPECT_GT(t["published"]["values"].size(), 0u);
      for (const auto& v : t["published"]["values"]) {
        int values = 0;
        for (const auto& kv : v) {
          const std::string k = kv.first.Scalar();
          if (metrics.count(k)) {
            ++values;
            continue;
          }
          ASSERT_TRUE(axes.count(k) || kEvalDimensions.count(k)) << id << ": unknown dimension " << k;
          // Axis labels, not display names.
          if (axes.count(k))
            EXPECT_TRUE(axes[k].count(kv.second.Scalar())) << id << ": " << k << " = " << kv.second.Scalar();
        }
        EXPECT_GT(values, 0) << id;
      }
    }
  }
}

TEST(ExperimentFiles, PublishedValuesMatchThePaper) {
  // Spot cells transcribed from paper-spec §1 (Tables 2, 3, 4, 5, 7, 8 and the curve data).
  struct Cell {
    std::string file;
    std::map<std::string, std::string> cell;
    std::string metric;
    double value;
  };
  const std::vector<Cell> cells = {
      {"table3", {{"steps", "1000"}, {"dataset", "cifar10"}, {"method", "adm-ip"}}, "fid", 2.76},
      {"table3", {{"steps", "1000"}, {"dataset", "cifar10"}, {"method", "adm"}}, "sfid", 4.76},
      {"table3", {{"steps", "80"}, {"dataset", "ffhq128"}, {"method", "adm"}}, "fid", 17.00},
      {"table3", {{"steps", "100"}, {"dataset", "lsun_tower64"}, {"method", "adm"}}, "sfid", 11.10},
      {"table3", {{"steps", "300"}, {"dataset", "imagenet32"}, {"method", "adm-ip"}}, "sfid", 2.58},
      {"table2", {{"method", "adm-gp"}}, "fid", 2.80},
      {"table2", {{"method", "adm-wd"}}, "sfid", 4.61},
      {"table4",
       {{"dataset", "celeba64"}, {"method", "adm-ip"}, {"iteration", "300000"}, {"steps", "200"}},
       "fid",
       1.53},
      {"table4", {{"dataset", "ffhq128"}, {"method", "adm-ip"}, {"iteration", "180000"}, {"steps", "60"}}, "fid", 8.72},
      {"table5", {{"eta", "0.5"}, {"method", "ddim-ip"}, {"steps", "10"}}, "fid", 10.06},
      {"table5", {{"eta", "0.0"}, {"method", "ddim"}, {"steps", "1000"}}, "fid", 4.29},
      {"table7", {{"method", "ddpm-y"}, {"steps", "80"}}, "sfid", 6.51},
      {"table7", {{"method", "adm-ip"}, {"steps", "300"}}, "fid", 2.67},
      {"table8", {{"dataset", "ffhq128"}, {"method", "adm-ip"}}, "precision", 0.703},
      {"table8", {{"dataset", "lsun_tower64"}, {"method", "adm"}}, "recall", 0.618},
      {"gamma_ablation", {{"gamma", "0.2"}, {"iteration", "460000"}}, "fid", 2.82},
      {"gamma_ablation", {{"gamma", "0"}, {"iteration", "540000"}}, "fid", 3.44},
      {"fid_curves", {{"dataset", "ffhq128"}, {"method", "adm"}, {"iteration", "60000"}}, "fid", 24.94},
      {"fid_curves", {{"dataset", "imagenet32"}, {"method", "adm-ip"}, {"iteration", "4000000"}}, "fid", 2.72},
      {"table1", {{"method", "adm"}, {"start_t", "100"}}, "fid", 0.983},
      {"table1", {{"method", "adm"}, {"start_t", "700"}}, "fid", 3.105},
      {"table1", {{"method", "adm-ip"}, {"start_t", "500"}}, "fid", 2.198},
      {"table1", {{"method", "adm-ip"}, {"start_t", "1000"}}, "fid", 2.742},
      {"eps_scaling", {{"method", "adm"}, {"steps", "100"}, {"eps_scale", "1"}}, "fid", 3.37},
      {"eps_scaling", {{"method", "adm-ip"}, {"steps", "100"}, {"eps_scale", "1"}}, "fid", 2.70},
  };
  std::map<std::string, ExperimentFile> files;
  for (const auto& c : cells) {
    if (!files.count(c.file)) files.emplace(c.file, read_experiment_file(experiment_path(c.file)));
    const auto got = published(files.at(c.file), c.file, c.cell, c.metric);
    ASSERT_TRUE(got.has_value()) << c.file << " " << c.metric;
    EXPECT_DOUBLE_EQ(*got, c.value) << c.file << " " << c.metric;
  }
  // Whole tables: every published cell of the paper is there once.
  auto count = [&](const std::string& file) {
    const auto f = read_experiment_file(experiment_path(file));
    return f.report["tables"][0]["published"]["values"].size();
  };
  EXPECT_EQ(count("table2"), 4u);
  EXPECT_EQ(count("table3"), 40u);  // 4 step counts x 5 datasets x 2 methods
  EXPECT_EQ(count("table4"), 10u);
  EXPECT_EQ(count("table5"), 20u);  // 2 etas x 2 methods x 5 step counts
  EXPECT_EQ(count("table7"), 12u);
  EXPECT_EQ(count("table8"), 8u);
  EXPECT_EQ(count("gamma_ablation"), 41u);  // ADM 11 points, each gamma 10
  EXPECT_EQ(count("fid_curves"), 83u);
  EXPECT_EQ(count("table1"), 10u);      // 2 methods x 5 chain lengths
  EXPECT_EQ(count("eps_scaling"), 2u);  // Table 3's CIFAR10 T' = 100 cells (lambda = 1)
}

// Table 1: table3's ImageNet32 (and CIFAR10) runs at Table 3's checkpoints, each sampled by chains
// of K = 100, 300, 500, 700, 1000 steps from q(x_K | x0) of the prepared training set, FID only.
TEST(ExperimentFiles, Table1StartsChainsFromDataOnTable3sRuns) {
  const auto t3 = load("table3").expansion;
  const auto t1 = load("table1").expansion;
  ASSERT_EQ(t1.runs.size(), 4u);
  for (const auto& r : t1.runs) {
    SCOPED_TRACE(r.label_string());
    const PlannedRun* same = find_run(t3, {{"dataset", label(r, "dataset")}, {"method", label(r, "method")}});
    ASSERT_NE(same, nullptr);
    EXPECT_EQ(r.run_id, same->run_id);
    EXPECT_EQ(r.train.train.iterations, same->train.train.iterations);
    EXPECT_EQ(r.eval->start.from, "data");
    EXPECT_EQ(r.eval->start.t, (std::vector<int>{100, 300, 500, 700, 1000}));
    EXPECT_EQ(r.eval->start.data, r.train.data.path);  // the prepared training set, memory-mapped
    EXPECT_EQ(r.eval->sampler, "ancestral");
    EXPECT_TRUE(r.eval->sampling_steps.empty());
    EXPECT_EQ(r.eval->metrics, std::vector<std::string>{"fid"});
    EXPECT_EQ(r.eval->reference, same->eval->reference);
    EXPECT_EQ(r.eval->precision, "fp32");
  }
  EXPECT_EQ(run_ids(t1), std::set<std::string>({find_run(t3, {{"dataset", "imagenet32"}, {"method", "adm"}})->run_id,
                                                find_run(t3, {{"dataset", "imagenet32"}, {"method", "adm-ip"}})->run_id,
                                                find_run(t3, {{"dataset", "cifar10"}, {"method", "adm"}})->run_id,
                                                find_run(t3, {{"dataset", "cifar10"}, {"method", "adm-ip"}})->run_id}));
  // Per run: its train task (table3's), 5 chain lengths x (sample + eval).
  const auto tasks = plan_tasks(t1.runs);
  ASSERT_EQ(tasks.size(), 4u * (1 + 5 * 2));
  const auto t3_tasks = by_id(plan_tasks(t3.runs));
  std::map<std::string, int> kinds;
  std::map<std::string, std::set<int>> starts;  // run id -> K
  for (const auto& t : tasks) {
    ++kinds[t.kind];
    if (t.kind == "train") EXPECT_TRUE(t3_tasks.count(t.task_id)) << t.task_id << " is not table3's";
    if (t.kind != "sample") continue;
    const SampleTaskSpec s = t.sample_spec();
    EXPECT_EQ(s.steps, 1000);
    EXPECT_EQ(s.num_samples, 50000);
    EXPECT_EQ(s.ema, "0.9999");
    EXPECT_TRUE(s.eps_scale_b == 1.0 && s.eps_scale_k == 0.0);
    EXPECT_EQ(s.data.find("/data/refs/"), std::string::npos) << s.data;
    EXPECT_EQ(s.data.substr(s.data.size() - 6), "_train") << s.data;
    starts[t.run_id].insert(s.start_t);
  }
  EXPECT_EQ(kinds, (std::map<std::string, int>{{"train", 4}, {"sample", 20}, {"eval", 20}}));
  for (const auto& [run, ks] : starts) EXPECT_EQ(ks, (std::set<int>{100, 300, 500, 700, 1000})) << run;
  // The dry run's cost: every sample task known from the throughput table (the paper's 32x32
  // model, 1200 forwards/s), a chain of K steps costing K forwards per image: per run
  // 50,000 x (100 + 300 + 500 + 700 + 1000) / 1200 s.
  const CostEstimate c = estimate_cost(t1.runs, tasks, std::vector<bool>(tasks.size(), true), {});
  EXPECT_EQ(c.totals.unknown, 0);
  EXPECT_EQ(c.totals.sample_files, 20);
  EXPECT_EQ(c.totals.exposure_files, 0);
  double sample_seconds = 0;
  for (size_t i = 0; i < tasks.size(); ++i)
    if (tasks[i].kind == "sample") sample_seconds += *c.tasks[i].gpu_hours * 3600;
  EXPECT_NEAR(sample_seconds, 4 * 50000.0 * 2600 / 1200, 1e-6);
}

// Epsilon Scaling: table3's CIFAR10 runs, 5 lambdas x 3 step counts, FID (and sFID, as table3);
// lambda = 1 at 100 steps is table3's own sample and eval task.
TEST(ExperimentFiles, EpsScalingSweepsLambdaOnTable3sCifar10Runs) {
  const auto t3 = load("table3").expansion;
  const auto es = load("eps_scaling").expansion;
  ASSERT_EQ(es.runs.size(), 2u);
  for (const auto& r : es.runs) {
    SCOPED_TRACE(r.label_string());
    const PlannedRun* same = find_run(t3, {{"dataset", "cifar10"}, {"method", label(r, "method")}});
    ASSERT_NE(same, nullptr);
    EXPECT_EQ(r.run_id, same->run_id);
    EXPECT_EQ(r.train.train.iterations, same->train.train.iterations);
    EXPECT_EQ(r.eval->sampling_steps, (std::vector<int>{20, 50, 100}));
    ASSERT_EQ(r.eval->eps_scale.size(), 5u);
    std::vector<double> bs;
    for (const auto& s : r.eval->eps_scale) {
      bs.push_back(s.b);
      EXPECT_EQ(s.k, 0.0);
    }
    EXPECT_EQ(bs, (std::vector<double>{1.000, 1.005, 1.010, 1.017, 1.020}));
  }
  // Per run: train + 3 step counts x 5 lambdas x (sample + eval).
  const auto tasks = plan_tasks(es.runs);
  ASSERT_EQ(tasks.size(), 2u * (1 + 3 * 5 * 2));
  const auto t3_tasks = by_id(plan_tasks(t3.runs));
  const auto es_tasks = by_id(tasks);
  std::map<std::string, int> kinds;
  std::set<std::tuple<std::string, int, double>> grid;  // (run, steps, lambda)
  int shared = 0;
  for (const auto& t : tasks) {
    ++kinds[t.kind];
    if (t.kind == "train") EXPECT_TRUE(t3_tasks.count(t.task_id)) << t.task_id << " is not table3's";
    if (t.kind == "eval") {
      const SampleTaskSpec s = es_tasks.at(t.eval_spec().samples_of)->sample_spec();
      if (s.eps_scale_b == 1.0 && s.steps == 100) {
        EXPECT_TRUE(t3_tasks.count(t.task_id)) << "lambda 1 at 100 steps is table3's evaluation";
        EXPECT_TRUE(t3_tasks.count(t.depends_on.at(0)));
        ++shared;
      } else {
        EXPECT_FALSE(t3_tasks.count(t.task_id));
      }
    }
    if (t.kind == "sample") grid.insert({t.run_id, t.sample_spec().steps, t.sample_spec().eps_scale_b});
  }
  EXPECT_EQ(shared, 2);
  EXPECT_EQ(kinds, (std::map<std::string, int>{{"train", 2}, {"sample", 30}, {"eval", 30}}));
  EXPECT_EQ(grid.size(), 30u);
  const CostEstimate c = estimate_cost(es.runs, tasks, std::vector<bool>(tasks.size(), true), {});
  EXPECT_EQ(c.totals.unknown, 0);
  EXPECT_EQ(c.totals.sample_files, 30);
}
