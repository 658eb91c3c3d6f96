// The train task's keep_steps (runner/plan/task_spec.h): every step the cells sharing a run sample,
// written into the train spec, and read back (older specs without it mean "delete nothing").
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <string>
#include <vector>

#include "base/util/errors.h"
#include "runner/experiment/expand.h"
#include "runner/orchestrate/orchestrator.h"
#include "runner/plan/task_graph.h"
#include "runner/plan/task_spec.h"
#include "tests/support/test_support.h"

using namespace repro;
using namespace repro::runner;
using nlohmann::json;

namespace {

// Three cells of one run (they differ in eval: only): at 10 (twice), at 20, and at the cell's last
// step (no at_iterations: 30, which no other cell names).
const char* const kExperiment = R"(name: keep
base:
  model: {image_size: 8, num_channels: 32, channel_mult: [1, 1], attention_resolutions: [4]}
  train: {batch_size: 4, iterations: 30, save_interval: 10}
  data: {path: a.npz}
  eval: {sampling_steps: [5], num_samples: 8, reference: ref.npz}
matrix:
  when:
    - {name: early, eval: {at_iterations: [20, 10, 10]}}
    - {name: middle, eval: {at_iterations: [20]}}
    - {name: last, eval: {sampling_steps: [4]}}
)";

std::vector<TaskSpec> plan_of(const test::TempDir& dir, const std::string& text) {
  const std::string path = dir.file("exp.yaml");
  std::ofstream(path) << text;
  return plan_tasks(expand(read_experiment_file(path)).runs);
}

}  // namespace

TEST(KeepSteps, TheTrainSpecListsEveryStepTheRunsCellsSample) {
  test::TempDir dir;
  const auto tasks = plan_of(dir, kExperiment);
  ASSERT_EQ(tasks[0].kind, "train");
  const std::string& spec = tasks[0].spec;
  // Written by hand: the key after iterations (sorted order), steps sorted and unique.
  const std::string tail = R"(,"iterations":30,"keep_steps":[10,20,30]})";
  ASSERT_GE(spec.size(), tail.size());
  EXPECT_EQ(spec.substr(spec.size() - tail.size()), tail);
  EXPECT_EQ(tasks[0].train_spec().keep_steps, (std::vector<int64_t>{10, 20, 30}));
  EXPECT_EQ(spec, json::parse(spec).dump());  // still the dump of the same JSON
  int trains = 0;
  for (const auto& t : tasks) trains += t.kind == "train";
  EXPECT_EQ(trains, 1);  // one run, one train task
}

TEST(KeepSteps, ARunWithoutEvalKeepsOnlyItsLatest) {
  test::TempDir dir;
  const auto tasks = plan_of(dir, R"(name: train_only
base:
  model: {image_size: 8, num_channels: 32, channel_mult: [1, 1], attention_resolutions: [4]}
  train: {batch_size: 4, iterations: 30, save_interval: 10}
  data: {path: a.npz}
)");
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_NE(tasks[0].spec.find(R"("iterations":30,"keep_steps":[]})"), std::string::npos) << tasks[0].spec;
}

TEST(KeepSteps, OlderSpecsHaveNoneAndBadOnesNameTheKey) {
  TrainTaskSpec t;
  t.config = "train: {}\n";
  t.identity = R"({"a":1})";
  t.iterations = 30;
  const std::string old_text = spec_text(t);  // as the planner wrote it before keep_steps
  EXPECT_EQ(old_text, R"({"config":"train: {}\n","identity":{"a":1},"iterations":30})");
  EXPECT_FALSE(parse_train_spec(json::parse(old_text), "task x").keep_steps.has_value());
  EXPECT_FALSE(json::parse(old_text).get<TrainTaskSpec>().keep_steps.has_value());
  t.keep_steps = std::vector<int64_t>{};
  EXPECT_EQ(parse_train_spec(json::parse(spec_text(t)), "task x").keep_steps, std::vector<int64_t>{});
  t.keep_steps = std::vector<int64_t>{10, 9000000000};
  EXPECT_EQ(json::parse(spec_text(t)).get<TrainTaskSpec>().keep_steps, t.keep_steps);
  EXPECT_EQ(spec_text(t), json(t).dump());
  for (const char* bad : {R"("10")", "[-1]", "[1.5]", R"(["10"])"}) {
    json j = json::parse(old_text);
    j["keep_steps"] = json::parse(bad);
    const std::string m = test::error_message([&] { parse_train_spec(j, "task x"); });
    EXPECT_NE(m.find("task x"), std::string::npos) << m;
    EXPECT_NE(m.find("spec.keep_steps"), std::string::npos) << m;
  }
}

// `repro run --only when=middle` trains the run the other cells share: the steps they sample (10,
// and 30 of the cell without at_iterations) are kept too, or their sample tasks, planned by a later
// `repro run`, would find them pruned.
TEST(KeepSteps, AnOnlySelectionKeepsTheStepsOfTheCellsItLeftOutThatShareTheRun) {
  test::TempDir dir;
  const std::string path = dir.file("exp.yaml");
  std::ofstream(path) << kExperiment;
  const ExperimentFile file = read_experiment_file(path);
  const Expansion only = expand(file, {}, {"when=middle"});
  const Expansion full = expand(file);
  ASSERT_EQ(only.runs.size(), 1u);
  ASSERT_EQ(full.runs.size(), 3u);
  ASSERT_EQ(only.runs[0].run_id, full.runs[0].run_id);
  // Without the whole expansion only the selected cell's step is known.
  EXPECT_EQ(plan_tasks(only.runs)[0].train_spec().keep_steps, std::vector<int64_t>{20});
  EXPECT_EQ(plan_tasks(only.runs, &full.runs)[0].train_spec().keep_steps, (std::vector<int64_t>{10, 20, 30}));
  const Plan plan = make_plan({file.name, path, "sha"}, only, &full);
  ASSERT_EQ(plan.tasks[0].kind, "train");
  EXPECT_EQ(plan.tasks[0].train_spec().keep_steps, (std::vector<int64_t>{10, 20, 30}));
  // Only the selected cell's tasks are planned: one sample task (at 20) and its eval task.
  ASSERT_EQ(plan.tasks.size(), 3u);
  EXPECT_EQ(plan.tasks[1].sample_spec().checkpoint_step, 20);
}
