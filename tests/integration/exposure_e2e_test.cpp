// Issue 18 end to end on the tiny CPU model: a CPU-sized Table 1 (chains started from data at two
// K) and a CPU-sized eps_scaling (two lambdas) with an eval.exposure request, each in a project of
// its own (a run shared by two experiments shows the results of both in each report); the dry
// runs' task counts, `repro run` to completion, and the reports: JSON values for every start_t and
// eps_scale, HTML with the exposure plots of ADM and ADM-IP.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "tests/support/test_support.h"

using namespace repro;
namespace fs = std::filesystem;

namespace {

using test::repro_cli;

// The tiny model of run_cli_test, 20 diffusion steps, trained 4 iterations. Both experiments
// share base model, diffusion, train and data: the same runs (run ids).
const char* kBase = R"(base:
  model: {image_size: 8, num_channels: 32, channel_mult: [1, 1], num_res_blocks: 1,
          attention_resolutions: [4], num_head_channels: 32, learn_sigma: true}
  diffusion: {diffusion_steps: 20}
  train: {batch_size: 4, iterations: 4, save_interval: 4, log_interval: 1}
  data: {path: data.npz}
)";

const char* kMatrix = R"(matrix:
  method:
    - {name: adm, train: {method: adm}}
    - {name: adm-ip, train: {method: adm-ip, gamma: 0.1}}
)";

// Table 1: the ancestral chain over the full process from x_K = q_sample(x0, K - 1, eps), K = 5
// and K = 20 (= T, the whole chain), x0 from the reference batch.
const char* kTable1Eval = R"(  eval: {num_samples: 6, batch_size: 6, reference: ref.npz, metrics: [fid],
         features: random-inception, start: {from: data, t: [5, 20]}}
)";

// Epsilon Scaling: lambda 1 and 1.05 at 5 steps, and the exposure curves of each.
const char* kEpsEval =
    R"(  eval: {sampling_steps: [5], num_samples: 6, batch_size: 6, reference: ref.npz, metrics: [fid],
         features: random-inception, eps_scale: [{b: 1.0}, {b: 1.05}], exposure: {num: 4}}
)";

std::string experiment(const std::string& name, const char* eval) {
  return "name: " + name + "\n" + kBase + eval + kMatrix;
}

class ExposureE2e : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(test::run_python("import numpy as np\nrng = np.random.default_rng(0)\n"
                               "np.savez('data.npz', rng.integers(0, 256, (16, 8, 8, 3), dtype=np.uint8))\n"
                               "np.savez('ref.npz', rng.integers(0, 256, (10, 8, 8, 3), dtype=np.uint8))\n",
                               dir_.path()),
              0);
    std::ofstream(dir_.file("table1.yaml")) << experiment("table1_cpu", kTable1Eval);
    std::ofstream(dir_.file("eps.yaml")) << experiment("eps_cpu", kEpsEval);
  }

  // `repro run FILE` with `extra` options in the experiment's project.
  int run(const std::string& file, const std::string& extra, std::string* out) {
    return repro_cli("run " + dir_.file(file) + " --project " + project(file) + " " + extra, out);
  }
  // `repro report NAME` of the experiment in FILE's project.
  int report(const std::string& file, const std::string& extra, std::string* out) {
    const std::string name = file == "table1.yaml" ? "table1_cpu" : "eps_cpu";
    return repro_cli("report " + name + " --project " + project(file) + " " + extra, out);
  }
  std::string project(const std::string& file) const { return dir_.file("proj-" + file.substr(0, file.find('.'))); }

  test::TempDir dir_;
};

// The values of a report JSON, as "dim=value" texts of one dimension, per metric.
std::set<std::string> values_of(const nlohmann::json& report, const std::string& dim, const std::string& metric) {
  std::set<std::string> out;
  for (const auto& v : report["values"])
    if (v["metric"] == metric && v["dims"].contains(dim) && v["mean"].is_number())
      out.insert(v["dims"][dim].get<std::string>());
  return out;
}

TEST_F(ExposureE2e, Table1AndEpsScalingRunAndReportWithExposureCurves) {
  std::string out;
  // Dry runs: per run, table1 1 train + 2 K x (sample + eval); eps 1 train + 2 lambdas x (sample +
  // eval + exposure).
  ASSERT_EQ(run("table1.yaml", "--dry-run --json", &out), 0) << out;
  auto plan = nlohmann::json::parse(out);
  EXPECT_EQ(plan["runs"].size(), 2u);
  EXPECT_EQ(plan["tasks"].size(), 2u * (1 + 2 * 2)) << out;
  ASSERT_EQ(run("eps.yaml", "--dry-run --json", &out), 0) << out;
  auto eps_plan = nlohmann::json::parse(out);
  EXPECT_EQ(eps_plan["tasks"].size(), 2u * (1 + 2 * 3)) << out;
  std::set<std::string> runs, eps_runs;
  for (const auto& r : plan["runs"]) runs.insert(r["run_id"].get<std::string>());
  for (const auto& r : eps_plan["runs"]) eps_runs.insert(r["run_id"].get<std::string>());
  EXPECT_EQ(runs, eps_runs);  // eval settings are not part of a run's identity: eps_scaling reuses runs
  EXPECT_FALSE(fs::exists(project("table1.yaml") + "/repro.db"));

  ASSERT_EQ(run("table1.yaml", "--max-parallel 2", &out), 0) << out;
  EXPECT_NE(out.find("done 10, already done 0, failed 0"), std::string::npos) << out;
  ASSERT_EQ(run("eps.yaml", "--max-parallel 2", &out), 0) << out;
  EXPECT_NE(out.find("done 14, already done 0, failed 0"), std::string::npos) << out;

  // JSON: a FID per method and K, and per method and lambda.
  ASSERT_EQ(report("table1.yaml", "--format json", &out), 0) << out;
  const auto t1 = nlohmann::json::parse(out.substr(out.find('{')));
  EXPECT_EQ(values_of(t1, "start_t", "fid"), (std::set<std::string>{"5", "20"})) << out;
  size_t t1_values = 0;
  for (const auto& v : t1["values"]) t1_values += v["mean"].is_number() ? 1 : 0;
  EXPECT_EQ(t1_values, 4u) << out;  // 2 methods x 2 K
  ASSERT_EQ(report("eps.yaml", "--format json", &out), 0) << out;
  const auto es = nlohmann::json::parse(out.substr(out.find('{')));
  EXPECT_EQ(values_of(es, "eps_scale", "fid"), (std::set<std::string>{"1", "1.05"})) << out;
  size_t es_values = 0;
  for (const auto& v : es["values"]) es_values += v["mean"].is_number() ? 1 : 0;
  EXPECT_EQ(es_values, 4u) << out;  // 2 methods x 2 lambdas

  // Each exposure task wrote its JSON and SVG in the run directory.
  size_t exposure_files = 0;
  for (const auto& e : fs::recursive_directory_iterator(project("eps.yaml")))
    if (e.path().parent_path().filename() == "exposure" && e.path().extension() == ".json") ++exposure_files;
  EXPECT_EQ(exposure_files, 4u);

  // HTML: the exposure section with one group per lambda, ADM's and ADM-IP's curves side by side.
  const std::string html_file = dir_.file("eps.html");
  ASSERT_EQ(report("eps.yaml", "--format html --out " + html_file, &out), 0) << out;
  EXPECT_EQ(out.find("warning: exposure"), std::string::npos) << out;
  const std::string html = test::read_text(html_file);
  const size_t section = html.find("<h2>Exposure bias</h2>");
  ASSERT_NE(section, std::string::npos) << out;
  const std::string exposure = html.substr(section);
  size_t svgs = 0;
  for (size_t at = exposure.find("<svg"); at != std::string::npos; at = exposure.find("<svg", at + 1)) ++svgs;
  EXPECT_EQ(svgs, 6u);  // 2 lambdas x (eps norm, variance ratio, variance)
  for (const std::string name :
       {">adm sampling<", ">adm training<", ">adm-ip sampling<", ">adm-ip training<", ">1 = no exposure bias<",
        "Exposure bias, 5 steps, iteration 4: eps L2 norm", "Exposure bias, 5 steps, iteration 4, lambda 1.05: "})
    EXPECT_NE(exposure.find(name), std::string::npos) << name;
  // Table 1's experiment asked for no exposure curves.
  ASSERT_EQ(report("table1.yaml", "--format html", &out), 0) << out;
  EXPECT_EQ(out.find("<h2>Exposure bias</h2>"), std::string::npos);
}

}  // namespace
