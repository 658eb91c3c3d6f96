// eval.eps_scale (Epsilon Scaling), eval.start (Table 1's chain from data) and eval.exposure
// (exposure tasks): strictly read from an experiment's eval: section (errors with file:line and the
// key path), checked against the run's diffusion in the expansion, planned as sample, eval and
// exposure tasks whose specs carry them (left out at their defaults, so other tasks keep their
// ids), and costed by the forward passes they run.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "base/util/errors.h"
#include "runner/experiment/eval_spec.h"
#include "runner/experiment/expand.h"
#include "runner/plan/cost_estimate.h"
#include "runner/plan/preflight.h"
#include "runner/plan/task_graph.h"
#include "runner/plan/task_spec.h"
#include "tests/support/test_support.h"

using namespace repro;
using namespace repro::runner;
using nlohmann::json;
using repro::test::config_error;

namespace {

EvalSpec eval_of(const std::string& yaml) { return read_eval_spec(YAML::Load(yaml), "exp.yaml"); }

// The ConfigError of reading `yaml` as an eval: section; its key path and message.
struct Refusal {
  std::string key;
  std::string what;
};
Refusal refusal(const std::string& yaml) {
  const ConfigError e = config_error([&] { eval_of(yaml); });
  return {e.key_path(), e.what()};
}

// A tiny run (40 diffusion steps) whose eval: section is `num_samples: 64, reference: ref.npz`
// and `eval_lines` (each indented by four spaces); eval: is line 7, eval_lines start at line 10.
std::string experiment(const std::string& eval_lines) {
  return R"(name: chains
base:
  model: {image_size: 8, num_channels: 32, channel_mult: [1, 1], num_res_blocks: 1, attention_resolutions: [4], num_head_channels: 32, learn_sigma: true}
  diffusion: {diffusion_steps: 40}
  train: {batch_size: 4, iterations: 20, save_interval: 10, log_interval: 5, seed: 0}
  data: {path: a.npz}
  eval:
    num_samples: 64
    reference: ref.npz
)" + eval_lines;
}

Expansion expand_text(const test::TempDir& dir, const std::string& text) {
  return expand(read_experiment_file(dir.write("exp.yaml", text)));
}

std::vector<TaskSpec> tasks_of(const test::TempDir& dir, const std::string& eval_lines) {
  return plan_tasks(expand_text(dir, experiment(eval_lines)).runs);
}

std::vector<const TaskSpec*> of_kind(const std::vector<TaskSpec>& tasks, const std::string& kind) {
  std::vector<const TaskSpec*> out;
  for (const auto& t : tasks)
    if (t.kind == kind) out.push_back(&t);
  return out;
}

}  // namespace

// ---- reading ----

TEST(ChainOptions, DefaultsAreOneUnscaledEvaluationFromNoiseWithoutExposure) {
  const EvalSpec e = eval_of("reference: ref.npz");
  ASSERT_EQ(e.eps_scale.size(), 1u);
  EXPECT_TRUE(e.eps_scale[0].is_identity());
  EXPECT_EQ(e.start.from, "noise");
  EXPECT_TRUE(e.start.t.empty());
  EXPECT_EQ(e.exposure.num, 0);
  // The section's JSON keeps the keys it had before these existed.
  const json j = to_json(e);
  std::set<std::string> keys;
  for (const auto& [k, v] : j.items()) keys.insert(k);
  EXPECT_EQ(keys,
            (std::set<std::string>{"at_iterations", "batch_size", "clip_denoised", "ema", "eta", "features", "metrics",
                                   "num_samples", "precision", "reference", "sampler", "sampling_steps", "to_uint8"}));
  EXPECT_EQ(to_json(eval_of("{reference: ref.npz, eps_scale: {b: 1, k: 0}, start: {from: noise}}")), j);
}

TEST(ChainOptions, EpsScaleIsAMappingOrAListOfThem) {
  const EvalSpec one = eval_of("{reference: r.npz, eps_scale: {b: 1.017}}");
  ASSERT_EQ(one.eps_scale.size(), 1u);
  EXPECT_EQ(one.eps_scale[0].b, 1.017);
  EXPECT_EQ(one.eps_scale[0].k, 0.0);
  const EvalSpec list = eval_of("{reference: r.npz, eps_scale: [{b: 1.0}, {b: 1.005, k: -0.0001}, {b: 1.02}]}");
  ASSERT_EQ(list.eps_scale.size(), 3u);
  EXPECT_TRUE(list.eps_scale[0].is_identity());
  EXPECT_EQ(list.eps_scale[1].b, 1.005);
  EXPECT_EQ(list.eps_scale[1].k, -0.0001);
  EXPECT_EQ(list.eps_scale[2].b, 1.02);
  const json j = to_json(list);
  EXPECT_EQ(j.at("eps_scale"), json::parse(R"([{"b":1.0,"k":0.0},{"b":1.005,"k":-0.0001},{"b":1.02,"k":0.0}])"));
}

TEST(ChainOptions, StartFromDataAndExposureRead) {
  const EvalSpec d = eval_of("{reference: r.npz, start: {from: data, t: [100, 300, 1000], data: x0.npz}}");
  EXPECT_EQ(d.start.from, "data");
  EXPECT_EQ(d.start.t, (std::vector<int>{100, 300, 1000}));
  EXPECT_EQ(d.start.data, "x0.npz");
  EXPECT_EQ(eval_of("{reference: r.npz, start: {from: data, t: 7}}").start.t, std::vector<int>{7});
  EXPECT_EQ(eval_of("{reference: r.npz, sampling_steps: [1000], start: {from: data, t: 7}}").start.data, "");
  const EvalSpec x = eval_of("{reference: r.npz, exposure: {num: 256}}");
  EXPECT_EQ(x.exposure.num, 256);
  EXPECT_EQ(x.exposure.mode, "chain");
  EXPECT_EQ(x.exposure.data, "");
  const EvalSpec s = eval_of("{metrics: [is], exposure: {num: 8, mode: step, data: d}}");
  EXPECT_EQ(s.exposure.mode, "step");
  EXPECT_EQ(s.exposure.data, "d");
  const json j = to_json(d);
  EXPECT_EQ(j.at("start"), json::parse(R"({"from":"data","t":[100,300,1000],"data":"x0.npz"})"));
  EXPECT_EQ(to_json(x).at("exposure"), json::parse(R"({"num":256,"mode":"chain","data":""})"));
}

// Wrong types, out-of-range values and unknown keys: ConfigError naming exp.yaml, the line of the
// offending value (key for unknown keys) and the key path.
TEST(ChainOptions, HostileEvalKeysAreRefusedWithFileLineAndKey) {
  struct Case {
    std::string yaml;
    std::string key;
    std::string where;  // "exp.yaml:<line>"
    std::string says;
  };
  const std::string ref = "reference: r.npz\n";
  const std::vector<Case> cases = {
      {ref + "eps_scale: 1.017\n", "eval.eps_scale", "exp.yaml:2", "expected {b: 1.017, k: 0}"},
      {ref + "eps_scale:\n  k: 0.1\n", "eval.eps_scale.b", "exp.yaml:3", "missing"},
      {ref + "eps_scale: {b: fast}\n", "eval.eps_scale.b", "exp.yaml:2", "expected a number, got 'fast'"},
      {ref + "eps_scale: {b: [1]}\n", "eval.eps_scale.b", "exp.yaml:2", "expected a number, got a list"},
      {ref + "eps_scale:\n  - {b: 1}\n  - {b: 1.01, c: 2}\n", "eval.eps_scale[1].c", "exp.yaml:4", "unknown key"},
      {ref + "eps_scale: [{b: 1}, 7]\n", "eval.eps_scale[1]", "exp.yaml:2", "expected {b: 1.017"},
      {ref + "eps_scale: {b: 0}\n", "eval.eps_scale", "exp.yaml:2",
       "expected b > 0 (lambda at i = 0; 1 = no scaling), got 0"},
      {ref + "eps_scale: {b: -1.017}\n", "eval.eps_scale", "exp.yaml:2", "expected b > 0"},
      {ref + "eps_scale: {b: .nan}\n", "eval.eps_scale", "exp.yaml:2", "expected finite b and k"},
      {ref + "eps_scale: {b: 1, k: .inf}\n", "eval.eps_scale", "exp.yaml:2", "expected finite b and k"},
      {ref + "eps_scale: []\n", "eval.eps_scale", "exp.yaml:2", "at least one"},
      {ref + "eps_scale: [{b: 1.01}, {b: 1.01, k: 0}]\n", "eval.eps_scale", "exp.yaml:2", "1.01 is listed twice"},
      {ref + "start: data\n", "eval.start", "exp.yaml:2", "expected a mapping, got 'data'"},
      {ref + "start: {from: sky}\n", "eval.start.from", "exp.yaml:2", "expected noise or data, got 'sky'"},
      {ref + "start:\n  from: data\n", "eval.start.t", "exp.yaml:3", "from data needs the chain lengths K"},
      {ref + "start: {from: data, t: [0]}\n", "eval.start.t", "exp.yaml:2", "expected K >= 1, got 0"},
      {ref + "start: {from: data, t: -5}\n", "eval.start.t", "exp.yaml:2", "expected K >= 1, got -5"},
      {ref + "start: {from: data, t: [a]}\n", "eval.start.t", "exp.yaml:2", "expected a list of integers"},
      {ref + "start: {from: data, t: 1.5}\n", "eval.start.t", "exp.yaml:2", "expected a list of integers"},
      {ref + "start: {from: data, t: [5, 5]}\n", "eval.start.t", "exp.yaml:2", "5 is listed twice"},
      {ref + "start: {from: noise, t: 5}\n", "eval.start.t", "exp.yaml:2", "only with from: data"},
      {ref + "start: {from: noise, data: x.npz}\n", "eval.start.data", "exp.yaml:2", "only with from: data"},
      {ref + "start:\n  from: data\n  t: 5\n  when: now\n", "eval.start.when", "exp.yaml:5", "unknown key"},
      {ref + "sampler: ddim\nstart: {from: data, t: 5}\n", "eval.start", "exp.yaml:3", "eval.sampler is 'ddim'"},
      {ref + "sampling_steps: [10, 20]\nstart: {from: data, t: 5}\n", "eval.sampling_steps", "exp.yaml:2",
       "leave sampling_steps out"},
      {"metrics: [is]\nstart: {from: data, t: 5}\n", "eval.start.data", "exp.yaml:2", "missing: the x0 images"},
      {ref + "exposure: {mode: chain}\n", "eval.exposure.num", "exp.yaml:2", "missing"},
      {ref + "exposure:\n  num: 0\n", "eval.exposure.num", "exp.yaml:3", "expected > 0, got 0"},
      {ref + "exposure: {num: -3}\n", "eval.exposure.num", "exp.yaml:2", "expected > 0, got -3"},
      {ref + "exposure: {num: many}\n", "eval.exposure.num", "exp.yaml:2", "expected an integer, got 'many'"},
      {ref + "exposure: {num: 4, mode: both}\n", "eval.exposure.mode", "exp.yaml:2", "expected chain or step"},
      {ref + "exposure: {num: 4, plot: yes}\n", "eval.exposure.plot", "exp.yaml:2", "unknown key"},
      {ref + "exposure: [4]\n", "eval.exposure", "exp.yaml:2", "expected a mapping"},
      {"metrics: [is]\nexposure: {num: 4}\n", "eval.exposure.data", "exp.yaml:2", "missing: the x0 images"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.yaml);
    const Refusal r = refusal(c.yaml);
    EXPECT_EQ(r.key, c.key) << r.what;
    EXPECT_EQ(r.what.rfind(c.where + ": ", 0), 0u) << r.what;
    EXPECT_NE(r.what.find(c.says), std::string::npos) << r.what;
  }
}

// ---- expansion: what needs the run's diffusion ----

TEST(ChainOptions, ExpansionChecksStartsAndScalesAgainstTheDiffusion) {
  test::TempDir dir;
  const std::string where = dir.file("exp.yaml") + " (run (base)):";
  auto refused = [&](const std::string& lines) {
    const ConfigError e = config_error([&] { expand_text(dir, experiment(lines)); });
    return Refusal{e.key_path(), e.what()};
  };
  // K beyond the 40 diffusion steps: the line of t.
  Refusal r = refused("    start:\n      from: data\n      t: [5, 41]\n");
  EXPECT_EQ(r.key, "eval.start.t");
  EXPECT_EQ(r.what.rfind(where + "12: ", 0), 0u) << r.what;
  EXPECT_NE(r.what.find("K = 41 is beyond diffusion.diffusion_steps (40)"), std::string::npos) << r.what;
  // From data the chain is the full process: sampling_steps [20] is refused, [40] accepted.
  r = refused("    sampling_steps: [20]\n    start: {from: data, t: 5}\n");
  EXPECT_EQ(r.key, "eval.sampling_steps");
  EXPECT_EQ(r.what.rfind(where + "10: ", 0), 0u) << r.what;
  EXPECT_NE(r.what.find("give [40] (diffusion.diffusion_steps), not 20"), std::string::npos) << r.what;
  EXPECT_EQ(expand_text(dir, experiment("    sampling_steps: [40]\n    start: {from: data, t: [40]}\n")).runs.size(),
            1u);
  // lambda_i = 1 - 0.1 i: lambda_9 = 0.1 > 0 over a 10-step chain, lambda_19 = -0.9 over a 20-step one.
  const std::string falling = "    eps_scale:\n      b: 1\n      k: -0.1\n";
  EXPECT_EQ(expand_text(dir, experiment("    sampling_steps: [10]\n" + falling)).runs.size(), 1u);
  r = refused("    sampling_steps: [10, 20]\n" + falling);
  EXPECT_EQ(r.key, "eval.eps_scale");
  EXPECT_EQ(r.what.rfind(where + "12: ", 0), 0u) << r.what;
  EXPECT_NE(r.what.find("over the 20 steps"), std::string::npos) << r.what;
  // Without sampling_steps the chain is all 40 steps; from data it is the longest K.
  EXPECT_EQ(refused(falling).key, "eval.eps_scale");
  EXPECT_EQ(expand_text(dir, experiment("    start: {from: data, t: [3, 10]}\n" + falling)).runs.size(), 1u);
  EXPECT_EQ(refused("    start: {from: data, t: [3, 11]}\n" + falling).key, "eval.eps_scale");
  // A read error inside a list item is located at the item's line.
  r = refused("    eps_scale:\n      - {b: 1}\n      - {b: 1.01,\n         kk: 2}\n");
  EXPECT_EQ(r.key, "eval.eps_scale[1].kk");
  EXPECT_EQ(r.what.rfind(where + "13: ", 0), 0u) << r.what;
}

TEST(ChainOptions, DataPathsAreRelativeToTheExperimentFile) {
  test::TempDir dir;
  const auto e = expand_text(dir, experiment("    start: {from: data, t: 5, data: x0.npz}\n"
                                             "    exposure: {num: 4, data: /abs/x.npz}\n"));
  ASSERT_EQ(e.runs.size(), 1u);
  EXPECT_EQ(e.runs[0].eval->start.data, dir.file("x0.npz"));
  EXPECT_EQ(e.runs[0].eval->exposure.data, "/abs/x.npz");
}

// ---- the task graph ----

TEST(ChainOptions, OneSampleAndEvalPerCheckpointStepsAndEpsScaleEntry) {
  test::TempDir dir;
  const std::string lines =
      "    at_iterations: [10, 20]\n    sampling_steps: [10, 20]\n"
      "    eps_scale: [{b: 1.0}, {b: 1.017}, {b: 1.0, k: 0.001}]\n";
  const auto tasks = tasks_of(dir, lines);
  // 1 train + 2 checkpoints x 2 step counts x 3 lambdas x (sample + eval).
  ASSERT_EQ(tasks.size(), 1u + 2 * 2 * 3 * 2);
  const auto samples = of_kind(tasks, "sample");
  ASSERT_EQ(samples.size(), 12u);
  std::map<std::pair<double, double>, int> per_lambda;
  for (const auto* t : samples) {
    const SampleTaskSpec s = t->sample_spec();
    ++per_lambda[{s.eps_scale_b, s.eps_scale_k}];
    EXPECT_EQ(s.start_t, 0);
    EXPECT_EQ(s.exposure_num, 0);
    // Left out of the text where it is 1 and 0.
    EXPECT_EQ(t->spec.find("eps_scale_b") != std::string::npos, s.eps_scale_b != 1.0) << t->spec;
    EXPECT_EQ(t->spec.find("eps_scale_k") != std::string::npos, s.eps_scale_k != 0.0) << t->spec;
  }
  EXPECT_EQ(per_lambda,
            (std::map<std::pair<double, double>, int>{{{1.0, 0.0}, 4}, {{1.017, 0.0}, 4}, {{1.0, 0.001}, 4}}));
  // The lambda = 1 tasks are the tasks of the same file without eps_scale (same ids).
  const auto plain = tasks_of(dir, "    at_iterations: [10, 20]\n    sampling_steps: [10, 20]\n");
  ASSERT_EQ(plain.size(), 9u);
  std::set<std::string> ids;
  for (const auto& t : tasks) ids.insert(t.task_id);
  for (const auto& t : plain) EXPECT_TRUE(ids.count(t.task_id)) << t.task_id << " " << t.spec;
}

TEST(ChainOptions, ChainsFromDataRunTheFullProcessFromEachK) {
  test::TempDir dir;
  const auto tasks = tasks_of(dir, "    start: {from: data, t: [5, 20, 40]}\n    eps_scale: [{b: 1}, {b: 1.01}]\n");
  ASSERT_EQ(tasks.size(), 1u + 3 * 2 * 2);  // train + K x lambda x (sample + eval)
  std::set<std::pair<int, double>> seen;
  for (const auto* t : of_kind(tasks, "sample")) {
    const SampleTaskSpec s = t->sample_spec();
    EXPECT_EQ(s.steps, 40);
    EXPECT_EQ(s.data, dir.file("ref.npz"));  // eval.reference by default
    EXPECT_EQ(s.num_samples, 64);
    EXPECT_EQ(s.sampler, "ancestral");
    seen.insert({s.start_t, s.eps_scale_b});
  }
  EXPECT_EQ(seen, (std::set<std::pair<int, double>>{{5, 1}, {5, 1.01}, {20, 1}, {20, 1.01}, {40, 1}, {40, 1.01}}));
  for (const auto* t : of_kind(tasks, "eval")) {
    ASSERT_EQ(t->depends_on.size(), 1u);
    EXPECT_EQ(t->eval_spec().reference, dir.file("ref.npz"));
  }
  // start.data, when given, is what the chains start from.
  const auto named = tasks_of(dir, "    start: {from: data, t: 5, data: x0.npz}\n");
  EXPECT_EQ(of_kind(named, "sample").at(0)->sample_spec().data, dir.file("x0.npz"));
}

TEST(ChainOptions, ExposureAddsOneMeasurementTaskPerSamplerSettingAndNoEval) {
  test::TempDir dir;
  const auto tasks = tasks_of(dir,
                              "    sampling_steps: [10, 20]\n    eps_scale: [{b: 1}, {b: 1.01}]\n"
                              "    exposure: {num: 16}\n");
  // 1 train + 2 steps x 2 lambdas x (sample + eval + exposure).
  ASSERT_EQ(tasks.size(), 1u + 2 * 2 * 3);
  std::set<std::string> read_by_eval;
  for (const auto* t : of_kind(tasks, "eval")) read_by_eval.insert(t->eval_spec().samples_of);
  int exposures = 0;
  for (const auto* t : of_kind(tasks, "sample")) {
    const SampleTaskSpec s = t->sample_spec();
    if (s.exposure_num == 0) continue;
    ++exposures;
    EXPECT_EQ(s.exposure_num, 16);
    EXPECT_EQ(s.num_samples, 16);
    EXPECT_EQ(s.exposure_mode, "chain");
    EXPECT_EQ(s.data, dir.file("ref.npz"));
    EXPECT_EQ(s.start_t, 0);
    EXPECT_EQ(t->depends_on, std::vector<std::string>{tasks[0].task_id});
    EXPECT_EQ(t->early_start_file, "checkpoints/ema_0.9999_000020.pt");
    EXPECT_FALSE(read_by_eval.count(t->task_id)) << "an eval task reads exposure task " << t->task_id;
  }
  EXPECT_EQ(exposures, 4);
  // The other tasks are those of the file without exposure: the same ids.
  const auto without = tasks_of(dir, "    sampling_steps: [10, 20]\n    eps_scale: [{b: 1}, {b: 1.01}]\n");
  ASSERT_EQ(without.size(), 1u + 2 * 2 * 2);
  std::set<std::string> ids;
  for (const auto& t : tasks) ids.insert(t.task_id);
  for (const auto& t : without) EXPECT_TRUE(ids.count(t.task_id)) << t.task_id;
  // From data: chain mode measures from each K, step mode once (a step's start is q(x_t+1 | x0)).
  const std::string from_data = "    start: {from: data, t: [5, 20]}\n";
  const auto chain = tasks_of(dir, from_data + "    exposure: {num: 8, data: x.npz}\n");
  ASSERT_EQ(chain.size(), 1u + 2 * 3);
  std::set<int> starts;
  for (const auto* t : of_kind(chain, "sample"))
    if (t->sample_spec().exposure_num > 0) {
      starts.insert(t->sample_spec().start_t);
      EXPECT_EQ(t->sample_spec().data, dir.file("x.npz"));
    }
  EXPECT_EQ(starts, (std::set<int>{5, 20}));
  const auto step = tasks_of(dir, from_data + "    exposure: {num: 8, mode: step}\n");
  ASSERT_EQ(step.size(), 1u + 2 * 2 + 1);
  std::vector<SampleTaskSpec> measured;
  for (const auto* t : of_kind(step, "sample"))
    if (t->sample_spec().exposure_num > 0) measured.push_back(t->sample_spec());
  ASSERT_EQ(measured.size(), 1u);
  EXPECT_EQ(measured[0].exposure_mode, "step");
  EXPECT_EQ(measured[0].start_t, 0);
  EXPECT_EQ(measured[0].steps, 40);
}

// ---- the spec ----

TEST(ChainOptions, SpecTextIsTheSortedDumpAndLeavesDefaultsOut) {
  SampleTaskSpec s;
  s.batch_size = 8;
  s.checkpoint_step = 100;
  s.ema = "0.9999";
  s.num_samples = 32;
  s.sampler = "ancestral";
  s.seed = 1;
  s.steps = 1000;
  const std::string plain = spec_text(s);
  EXPECT_EQ(plain, R"({"batch_size":8,"checkpoint_step":100,"clip_denoised":true,"ema":"0.9999","eta":0.0,)"
                   R"("num_samples":32,"sampler":"ancestral","seed":1,"steps":1000})");
  s.eps_scale_b = 1.017;
  s.eps_scale_k = -0.0001;
  s.start_t = 300;
  s.data = "/d/ref.npz";
  s.exposure_num = 256;
  s.exposure_mode = "step";
  const std::string all = spec_text(s);
  EXPECT_EQ(all, R"({"batch_size":8,"checkpoint_step":100,"clip_denoised":true,"data":"/d/ref.npz","ema":"0.9999",)"
                 R"("eps_scale_b":1.017,"eps_scale_k":-0.0001,"eta":0.0,"exposure_mode":"step","exposure_num":256,)"
                 R"("num_samples":32,"sampler":"ancestral","seed":1,"start_t":300,"steps":1000})");
  EXPECT_EQ(json(s).dump(), all);
  const SampleTaskSpec back = parse_sample_spec(json::parse(all), "t");
  EXPECT_EQ(back.eps_scale_b, 1.017);
  EXPECT_EQ(back.eps_scale_k, -0.0001);
  EXPECT_EQ(back.start_t, 300);
  EXPECT_EQ(back.data, "/d/ref.npz");
  EXPECT_EQ(back.exposure_num, 256);
  EXPECT_EQ(back.exposure_mode, "step");
  EXPECT_EQ(spec_text(back), all);
  EXPECT_EQ(spec_text(json::parse(all).get<SampleTaskSpec>()), all);
  // Missing members read as their defaults.
  const SampleTaskSpec old = parse_sample_spec(json::parse(plain), "t");
  EXPECT_EQ(old.eps_scale_b, 1.0);
  EXPECT_EQ(old.eps_scale_k, 0.0);
  EXPECT_EQ(old.start_t, 0);
  EXPECT_EQ(old.data, "");
  EXPECT_EQ(old.exposure_num, 0);
  EXPECT_EQ(old.exposure_mode, "chain");
  // Every combination of defaults and not: the text is nlohmann's dump.
  for (double b : {1.0, 1.005, 0.5})
    for (double k : {0.0, 1e-4})
      for (int t : {0, 7})
        for (int64_t n : {int64_t{0}, int64_t{5}})
          for (const char* mode : {"chain", "step"}) {
            s.eps_scale_b = b, s.eps_scale_k = k, s.start_t = t, s.exposure_num = n, s.exposure_mode = mode;
            s.data = t > 0 || n > 0 ? "x \"q\".npz" : "";
            EXPECT_EQ(spec_text(s), json(s).dump());
            EXPECT_EQ(spec_text(parse_sample_spec(json::parse(spec_text(s)), "t")), spec_text(s));
          }
}

TEST(ChainOptions, ParseRefusesBadNewMembersNamingTheKey) {
  const json plain = json::parse(R"({"batch_size":8,"checkpoint_step":100,"clip_denoised":true,"ema":"0.9999",)"
                                 R"("eta":0.0,"num_samples":32,"sampler":"ancestral","seed":1,"steps":1000})");
  auto with = [&](const std::string& key, const json& value) {
    json j = plain;
    j[key] = value;
    return config_error([&] { parse_sample_spec(j, "task x"); });
  };
  const std::vector<std::tuple<std::string, json, std::string>> cases = {
      {"eps_scale_b", "1.017", "expected a number, got string"},
      {"eps_scale_b", 0, "expected finite eps_scale_b > 0"},
      {"eps_scale_b", -1.5, "expected finite eps_scale_b > 0"},
      {"eps_scale_k", true, "expected a number, got boolean"},
      {"start_t", 1.5, "expected an integer"},
      {"start_t", -1, "expected >= 0"},
      {"start_t", 5, "missing: start_t and exposure_num read x0 images"},
      {"data", 7, "expected a string, got number"},
      {"exposure_num", "256", "expected an integer"},
      {"exposure_num", -2, "expected >= 0"},
      {"exposure_num", 3, "missing: start_t and exposure_num read x0 images"},
      {"exposure_mode", "both", "expected chain or step, got 'both'"},
  };
  for (const auto& [key, value, says] : cases) {
    SCOPED_TRACE(key + " = " + value.dump());
    const ConfigError e = with(key, value);
    const std::string want_key = says.rfind("missing: start_t", 0) == 0 ? "spec.data" : "spec." + key;
    EXPECT_EQ(e.key_path(), want_key) << e.what();
    EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).rfind("task x: ", 0), 0u) << e.what();
  }
}

TEST(ChainOptions, ForwardPassesCountTheChainAndTheExposureModes) {
  SampleTaskSpec s;
  s.num_samples = 50;
  s.steps = 1000;
  EXPECT_EQ(sample_forwards(s), 50 * 1000);
  s.start_t = 300;  // from data: K steps of the full process
  EXPECT_EQ(sample_forwards(s), 50 * 300);
  s.start_t = 0;
  s.steps = 100;
  s.exposure_num = 8;
  s.num_samples = 8;
  EXPECT_EQ(sample_forwards(s), 8 * 100 * 2);  // chain: eps on x̂_t and on q(x_t | x0)
  s.exposure_mode = "step";
  EXPECT_EQ(sample_forwards(s), 8 * 100 * 3);  // step: one more for the step itself
}

// ---- cost and pre-flight ----

TEST(ChainOptions, CostCountsStartTStepsAndExposurePasses) {
  test::TempDir dir;
  // The paper's 32x32 model (a throughput row: 1200 forwards/s), 1000 diffusion steps.
  const std::string text = R"(name: cost
base:
  model: {preset: 32}
  diffusion: {diffusion_steps: 1000}
  train: {batch_size: 64, iterations: 1000, save_interval: 1000, ema_rate: [0.9999]}
  data: {path: data}
  eval: {num_samples: 1200, reference: ref.npz, features: random-inception, metrics: [fid],
         start: {from: data, t: [100, 300]}, exposure: {num: 60, mode: step}}
)";
  const Expansion e = expand_text(dir, text);
  const auto tasks = plan_tasks(e.runs);
  ASSERT_EQ(tasks.size(), 1u + 2 * 2 + 1);  // train, 2 x (sample, eval), one step-mode exposure task
  const CostEstimate c = estimate_cost(e.runs, tasks, std::vector<bool>(tasks.size(), true), {});
  std::map<std::string, double> seconds;  // "K=100", "exposure"
  for (size_t i = 0; i < tasks.size(); ++i) {
    if (tasks[i].kind != "sample") continue;
    const SampleTaskSpec s = tasks[i].sample_spec();
    const std::string key = s.exposure_num > 0 ? "exposure" : "K=" + std::to_string(s.start_t);
    seconds[key] = *c.tasks[i].gpu_hours * 3600;
    if (s.exposure_num > 0)
      EXPECT_EQ(c.tasks[i].disk_bytes, 512 * 1000 + 16 * 1024);
    else
      EXPECT_EQ(c.tasks[i].disk_bytes, int64_t{1200} * 32 * 32 * 3 + kNpzOverheadBytes);
  }
  // 1200 images x K steps / 1200 forwards/s; exposure: 60 x 1000 steps x 3 passes / 1200.
  EXPECT_NEAR(seconds.at("K=100"), 100, 1e-9);
  EXPECT_NEAR(seconds.at("K=300"), 300, 1e-9);
  EXPECT_NEAR(seconds.at("exposure"), 150, 1e-9);
  EXPECT_EQ(c.totals.sample_files, 2);
  EXPECT_EQ(c.totals.exposure_files, 1);
  EXPECT_EQ(c.totals.exposure_bytes, 512 * 1000 + 16 * 1024);
}

TEST(ChainOptions, PreflightChecksTheX0Images) {
  test::TempDir dir;
  dir.write("ref.npz", "x");
  const Expansion e = expand_text(dir, experiment("    features: random-inception\n"
                                                  "    start: {from: data, t: 5, data: x0.npz}\n"
                                                  "    exposure: {num: 4}\n"));
  const auto tasks = plan_tasks(e.runs);
  std::vector<bool> to_run(tasks.size(), true);
  to_run[0] = false;  // trained
  const auto checks = preflight(e.runs, tasks, to_run, {}, {});
  std::map<std::string, std::pair<std::string, bool>> by_path;  // path -> (what, ok)
  for (const auto& c : checks) by_path[c.path] = {c.what, c.ok};
  ASSERT_TRUE(by_path.count(dir.file("x0.npz")));
  EXPECT_EQ(by_path[dir.file("x0.npz")], std::make_pair(std::string("x0 images"), false));
  EXPECT_EQ(by_path[dir.file("ref.npz")], std::make_pair(std::string("reference"), true));  // the exposure's x0
  EXPECT_EQ(checks.size(), 2u);
}
