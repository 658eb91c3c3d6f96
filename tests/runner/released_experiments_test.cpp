// experiments/released.yaml and released_es.yaml as the runner plans them: Table 3's cells that
// the authors' released checkpoints cover (CIFAR10, LSUN tower, FFHQ x ADM, ADM-IP), each run
// started from its file (no training), named by the file's SHA-256 and not by its folder; and
// Epsilon Scaling at ADM-ES's lambdas on the same files. The files here are small stand-ins with
// the names docs/experiments.md tells users to save the downloads under: expansion only hashes them.
// The truth (file names, Table 3's steps per checkpoint, ADM-ES's lambdas, the throughput
// table's rates) is transcribed by hand from paper-spec §1, the DDPM-IP and ADM-ES READMEs and
// docs/throughput.md.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/util/errors.h"
#include "base/util/sha256.h"
#include "runner/experiment/expand.h"
#include "runner/experiment/experiment_file.h"
#include "runner/plan/cost_estimate.h"
#include "runner/plan/task_graph.h"
#include "tests/support/test_support.h"

using namespace repro;
using namespace repro::runner;

namespace {

namespace fs = std::filesystem;

struct Released {
  std::string dataset, method, file;
  int64_t iteration;  // Table 3's checkpoint for the cell (paper-spec §1, inferred)
  int image_size, num_channels;
};
const std::vector<Released> kReleased = {
    {"cifar10", "adm", "cifar10/ADM-baseline.pt", 500000, 32, 128},
    {"cifar10", "adm-ip", "cifar10/ADM-IP.pt", 460000, 32, 128},
    {"lsun_tower64", "adm", "lsun_tower64/ADM-baseline.pt", 300000, 64, 192},
    {"lsun_tower64", "adm-ip", "lsun_tower64/ADM-IP.pt", 220000, 64, 192},
    {"ffhq128", "adm", "ffhq128/ADM-baseline.pt", 420000, 128, 256},
    {"ffhq128", "adm-ip", "ffhq128/ADM-IP.pt", 180000, 128, 256},
};
// ADM-ES's README, its 100-step sampling commands (--eps_scaler).
const std::map<std::string, double> kAdmEsLambda = {{"cifar10", 1.017}, {"lsun_tower64", 1.006}, {"ffhq128", 1.005}};

std::string experiment_path(const std::string& name) { return test::source_dir() + "/experiments/" + name + ".yaml"; }

// The stand-in of `file`: text of its own, so every file has another digest.
std::string stand_in_text(const std::string& file) { return "stand-in for " + file; }

void write_stand_ins(const fs::path& dir) {
  for (const auto& r : kReleased) {
    fs::create_directories((dir / r.file).parent_path());
    std::ofstream(dir / r.file, std::ios::binary) << stand_in_text(r.file);
  }
}

Expansion expand_in(const std::string& name, const fs::path& dir, bool lenient = false) {
  ExpandOptions o;
  o.lenient = lenient;
  return expand(read_experiment_file(experiment_path(name)), {"checkpoints_dir=" + dir.string()}, {}, o);
}

std::string label(const PlannedRun& run, const std::string& axis) {
  for (const auto& [a, l] : run.labels)
    if (a == axis) return l;
  return "";
}

const PlannedRun& run_of(const Expansion& e, const std::string& dataset, const std::string& method) {
  for (const auto& r : e.runs)
    if (label(r, "dataset") == dataset && label(r, "method") == method) return r;
  throw std::runtime_error("no run " + dataset + " " + method);
}

std::map<std::string, std::string> run_ids(const Expansion& e) {  // "dataset method" -> run id
  std::map<std::string, std::string> ids;
  for (const auto& r : e.runs) ids[label(r, "dataset") + " " + label(r, "method")] = r.run_id;
  return ids;
}

std::set<std::string> task_ids(const std::vector<TaskSpec>& tasks) {
  std::set<std::string> ids;
  for (const auto& t : tasks) ids.insert(t.task_id);
  return ids;
}

}  // namespace

// Six runs, one per released file, each the Table 3 cell's model and diffusion (table3.yaml's,
// so that the weights load) at its step, named by the file's digest alone.
TEST(ReleasedExperiments, SixRunsFromTheReleasedFilesWithTable3sModels) {
  test::TempDir dir;
  write_stand_ins(dir.path());
  const Expansion e = expand_in("released", dir.path());
  const Expansion t3 = expand(read_experiment_file(experiment_path("table3")));
  ASSERT_EQ(e.runs.size(), kReleased.size());
  for (const auto& want : kReleased) {
    SCOPED_TRACE(want.file);
    const PlannedRun& r = run_of(e, want.dataset, want.method);
    ASSERT_TRUE(r.checkpoint.has_value());
    EXPECT_EQ(r.checkpoint->path, (dir.path() / want.file).string());
    EXPECT_EQ(r.checkpoint->sha256, "") << "the shipped file pins no digest";
    EXPECT_EQ(r.checkpoint->actual_sha256, sha256_hex(stand_in_text(want.file)));
    EXPECT_EQ(r.checkpoint->iteration, want.iteration);
    EXPECT_EQ(r.checkpoint->ema, "0.9999");
    const auto id = r.identity();
    EXPECT_EQ(id, nlohmann::json({{"checkpoint", {{"sha256", r.checkpoint->actual_sha256}}},
                                  {"diffusion", id.at("diffusion")},
                                  {"model", id.at("model")},
                                  {"train", {{"seed", 0}}}}));
    EXPECT_EQ(r.train.model.image_size, want.image_size);
    EXPECT_EQ(r.train.model.num_channels, want.num_channels);
    const PlannedRun& same = run_of(t3, want.dataset, want.method);
    EXPECT_EQ(id.at("model"), same.identity().at("model"));
    EXPECT_EQ(id.at("diffusion"), same.identity().at("diffusion"));
    EXPECT_EQ(r.eval->sampling_steps, (std::vector<int>{1000, 300, 100, 80}));
    EXPECT_EQ(r.eval->num_samples, 50000);
    EXPECT_EQ(r.eval->reference, same.eval->reference);
    EXPECT_EQ(r.eval->precision, same.eval->precision);
    EXPECT_EQ(r.eval->batch_size, same.eval->batch_size);
    EXPECT_EQ(r.eval->metrics, same.eval->metrics);
    EXPECT_EQ(r.eval->features, "inception");
  }
}

// No train task; per run one sample task (on the file, depending on nothing) and its eval task
// per published step count; the dry run's GPU-hours are the throughput table's (docs/throughput.md:
// 1,200, 120 and 24 image-steps/s for the three sizes, 1,000 img/s for Inception), as
// docs/experiments.md quotes them.
TEST(ReleasedExperiments, PlanSamplesEachFileAtTable3sStepsWithoutTraining) {
  test::TempDir dir;
  write_stand_ins(dir.path());
  const Expansion e = expand_in("released", dir.path());
  const auto tasks = plan_tasks(e.runs);
  ASSERT_EQ(tasks.size(), 6u * 4 * 2);
  std::map<std::string, int> kinds;
  std::map<std::string, std::multiset<int>> steps;  // run id -> sampled step counts
  const std::set<std::string> ids = task_ids(tasks);
  for (const auto& t : tasks) {
    ++kinds[t.kind];
    if (t.kind == "eval") {
      EXPECT_EQ(t.depends_on, std::vector<std::string>{t.eval_spec().samples_of});
      EXPECT_TRUE(ids.count(t.eval_spec().samples_of));
      continue;
    }
    const PlannedRun* run = nullptr;
    for (const auto& r : e.runs)
      if (r.run_id == t.run_id) run = &r;
    ASSERT_NE(run, nullptr);
    EXPECT_TRUE(t.depends_on.empty()) << t.task_id;
    EXPECT_EQ(t.checkpoint_path, run->checkpoint->path);
    const SampleTaskSpec s = t.sample_spec();
    EXPECT_EQ(s.checkpoint_step, run->checkpoint->iteration);
    EXPECT_EQ(s.checkpoint_sha256, run->checkpoint->actual_sha256);
    EXPECT_EQ(s.ema, "0.9999");
    EXPECT_EQ(s.num_samples, 50000);
    EXPECT_EQ(s.seed, 0u);
    EXPECT_EQ(s.sampler, "ancestral");
    EXPECT_TRUE(s.eps_scale_b == 1.0 && s.eps_scale_k == 0.0);
    // CIFAR10 samples in fp32 although its preset trains in fp16 (written out); the others in
    // their training precision, fp16 (left out).
    const bool fp32 = t.spec.find(R"("precision":"fp32")") != std::string::npos;
    EXPECT_EQ(fp32, label(*run, "dataset") == "cifar10") << t.spec;
    steps[t.run_id].insert(s.steps);
  }
  EXPECT_EQ(kinds, (std::map<std::string, int>{{"sample", 24}, {"eval", 24}}));
  ASSERT_EQ(steps.size(), 6u);
  for (const auto& [run, s] : steps) EXPECT_EQ(s, (std::multiset<int>{80, 100, 300, 1000})) << run;
  const CostEstimate c = estimate_cost(e.runs, tasks, std::vector<bool>(tasks.size(), true), {});
  EXPECT_EQ(c.totals.unknown, 0);
  EXPECT_EQ(c.totals.sample_files, 24);
  const double per_run_forwards = 50000.0 * (1000 + 300 + 100 + 80);
  const double sample_hours = 2 * per_run_forwards * (1.0 / 1200 + 1.0 / 120 + 1.0 / 24) / 3600;
  const double eval_hours = 24 * 50000.0 / 1000 / 3600;
  EXPECT_NEAR(c.totals.gpu_hours_estimate, sample_hours + eval_hours, 1e-6);
  EXPECT_NEAR(c.totals.gpu_hours_estimate, 2090, 1);  // docs/experiments.md's figure
}

// The run id is the file's bytes: the same with the folder moved elsewhere (same task ids, the
// tasks naming the new place), another when one byte of one file changes (that run only).
TEST(ReleasedExperiments, RunIdsFollowTheFilesBytesNotTheirFolder) {
  test::TempDir first, second;
  write_stand_ins(first.path());
  const Expansion a = expand_in("released", first.path());
  const auto a_tasks = plan_tasks(a.runs);
  fs::copy(first.path(), second.path() / "moved", fs::copy_options::recursive);
  const Expansion moved = expand_in("released", second.path() / "moved");
  const auto moved_tasks = plan_tasks(moved.runs);
  EXPECT_EQ(run_ids(moved), run_ids(a));
  EXPECT_EQ(task_ids(moved_tasks), task_ids(a_tasks));
  for (const auto& t : moved_tasks)
    if (t.kind == "sample") EXPECT_EQ(t.checkpoint_path.rfind((second.path() / "moved").string(), 0), 0u);

  const fs::path changed = second.path() / "moved" / "cifar10" / "ADM-IP.pt";
  std::string text = stand_in_text("cifar10/ADM-IP.pt");
  text[0] ^= 1;
  std::ofstream(changed, std::ios::binary) << text;
  const Expansion b = expand_in("released", second.path() / "moved");
  auto want = run_ids(a);
  const auto got = run_ids(b);
  EXPECT_NE(got.at("cifar10 adm-ip"), want.at("cifar10 adm-ip"));
  want["cifar10 adm-ip"] = got.at("cifar10 adm-ip");
  EXPECT_EQ(got, want) << "only the changed file's run is another";
  EXPECT_EQ(run_of(b, "cifar10", "adm-ip").checkpoint->actual_sha256, sha256_hex(text));
}

// With no checkpoints_dir given, the shipped file's checkpoints_dir: (../checkpoints/released,
// relative to the file) says where the files are. A missing file without a pinned digest is a
// ConfigError naming it (`repro run` exits 2), or an unnamed cell when lenient. (The precedence of
// --set, REPRO_CHECKPOINTS_DIR and the file's key: checkpoint_source_test.cpp.)
TEST(ReleasedExperiments, ShippedCheckpointsDirAndMissingFiles) {
  test::TempDir empty;
  const ExperimentFile f = read_experiment_file(experiment_path("released"));
  const std::string cifar_adm = "cifar10/ADM-baseline.pt";
  const fs::path file_default = fs::path(test::source_dir()) / "checkpoints" / "released";
  ExpandOptions lenient;
  lenient.lenient = true;
  const Expansion e = expand(f, {}, {}, lenient);  // the files may have been downloaded there
  std::set<std::string> named;                     // the path of every cell, run or unnamed
  for (const auto& r : e.runs) named.insert(r.checkpoint->path);
  for (const auto& [cell, path] : e.unnamed) named.insert(path);
  EXPECT_TRUE(named.count((file_default / cifar_adm).lexically_normal().string())) << named.size();
  EXPECT_EQ(named.size(), 6u);

  const std::string message = test::config_error([&] { expand_in("released", empty.path()); }).what();
  EXPECT_NE(message.find((empty.path() / cifar_adm).string()), std::string::npos) << message;
  EXPECT_NE(message.find("sha256"), std::string::npos) << message;
  const Expansion none = expand_in("released", empty.path(), true);
  EXPECT_TRUE(none.runs.empty());
  EXPECT_TRUE(none.excluded.empty());
  std::set<std::string> missing;
  for (const auto& [cell, path] : none.unnamed) missing.insert(path);
  std::set<std::string> want;
  for (const auto& r : kReleased) want.insert((empty.path() / r.file).string());
  EXPECT_EQ(missing, want);
}

// released_es.yaml: the same files (the same run ids) at 100 steps; the ADM runs at lambda 1 and
// ADM-ES's lambda for their dataset, the ADM-IP runs at lambda 1; every lambda = 1 evaluation is
// released.yaml's own (the same task ids, shared through the store).
TEST(ReleasedExperiments, EpsScalingPutsAdmEsLambdaOnTheAdmFiles) {
  test::TempDir dir;
  write_stand_ins(dir.path());
  const Expansion released = expand_in("released", dir.path());
  const Expansion es = expand_in("released_es", dir.path());
  EXPECT_EQ(run_ids(es), run_ids(released));
  for (const auto& r : es.runs) {
    SCOPED_TRACE(r.label_string());
    EXPECT_EQ(r.eval->sampling_steps, std::vector<int>{100});
    std::vector<double> bs;
    for (const auto& s : r.eval->eps_scale) {
      bs.push_back(s.b);
      EXPECT_EQ(s.k, 0.0);
    }
    if (bs.empty()) bs.push_back(1.0);  // absent: lambda 1
    const std::string dataset = label(r, "dataset");
    if (label(r, "method") == "adm")
      EXPECT_EQ(bs, (std::vector<double>{1.0, kAdmEsLambda.at(dataset)}));
    else
      EXPECT_EQ(bs, std::vector<double>{1.0});
  }
  const auto tasks = plan_tasks(es.runs);
  const auto released_tasks = task_ids(plan_tasks(released.runs));
  ASSERT_EQ(tasks.size(), (3u * 2 + 3) * 2);  // (ADM 2 lambdas + ADM-IP 1) per dataset x (sample + eval)
  std::map<std::string, int> kinds;
  std::set<std::pair<std::string, double>> grid;  // (run, lambda)
  int shared = 0;
  for (const auto& t : tasks) {
    ++kinds[t.kind];
    if (t.kind != "sample") continue;
    const SampleTaskSpec s = t.sample_spec();
    EXPECT_EQ(s.steps, 100);
    grid.insert({t.run_id, s.eps_scale_b});
    EXPECT_EQ(released_tasks.count(t.task_id) == 1, s.eps_scale_b == 1.0) << t.task_id;
    shared += static_cast<int>(released_tasks.count(t.task_id));
  }
  EXPECT_EQ(kinds, (std::map<std::string, int>{{"sample", 9}, {"eval", 9}}));
  EXPECT_EQ(grid.size(), 9u);
  EXPECT_EQ(shared, 6);
}

// The published values beside each table are Table 3's (table3.yaml's, checked there against the
// paper): all 24 cells of the three datasets, and the T' = 100 FIDs at lambda 1.
TEST(ReleasedExperiments, PublishedValuesAreTable3s) {
  auto values = [](const std::string& name) {
    return read_experiment_file(experiment_path(name)).report["tables"][0]["published"]["values"];
  };
  const YAML::Node t3 = values("table3");
  auto table3 = [&](const YAML::Node& v, const std::string& metric) -> std::optional<double> {
    for (const auto& w : t3)
      if (w["steps"].Scalar() == v["steps"].Scalar() && w["dataset"].Scalar() == v["dataset"].Scalar() &&
          w["method"].Scalar() == v["method"].Scalar())
        return w[metric].as<double>();
    return std::nullopt;
  };
  const YAML::Node released = values("released");
  ASSERT_EQ(released.size(), 24u);
  std::set<std::string> cells;
  for (const auto& v : released) {
    cells.insert(v["steps"].Scalar() + v["dataset"].Scalar() + v["method"].Scalar());
    for (const char* metric : {"fid", "sfid"}) EXPECT_EQ(v[metric].as<double>(), table3(v, metric)) << metric;
  }
  EXPECT_EQ(cells.size(), 24u);
  YAML::Node es = values("released_es");
  ASSERT_EQ(es.size(), 6u);
  for (auto v : es) {
    EXPECT_EQ(v["eps_scale"].as<double>(), 1.0);
    v["steps"] = 100;
    EXPECT_EQ(v["fid"].as<double>(), table3(v, "fid"));
  }
}
