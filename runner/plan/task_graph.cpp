#include "runner/plan/task_graph.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <string_view>
#include <unordered_map>

#include "base/util/errors.h"
#include "base/util/sha256.h"
#include "runner/experiment/yaml_merge.h"
#include "runner/plan/task_spec.h"

namespace repro::runner {

namespace {

std::string train_yaml(const PlannedRun& run, ScalarTexts& texts) {
  auto data = std::make_shared<ConfigNode>();
  data->type = YAML::NodeType::Scalar;
  data->scalar = run.train.data.path;
  const ConfigTree tree = with_value(without(run.config, "eval"), {"data", "path"}, data);
  return emitted(tree, texts) + "\n";
}

}  // namespace

TrainTaskSpec TaskSpec::train_spec() const { return parse_train_spec(nlohmann::json::parse(spec), "task " + task_id); }
SampleTaskSpec TaskSpec::sample_spec() const {
  return parse_sample_spec(nlohmann::json::parse(spec), "task " + task_id);
}
EvalTaskSpec TaskSpec::eval_spec() const { return parse_eval_spec(nlohmann::json::parse(spec), "task " + task_id); }

std::string train_yaml(const PlannedRun& run) {
  ScalarTexts texts;
  return train_yaml(run, texts);
}

std::vector<TaskSpec> plan_tasks(const std::vector<PlannedRun>& runs) {
  std::vector<TaskSpec> tasks;
  ScalarTexts texts;
  // At most 1 + 2 x checkpoints x steps x etas tasks per cell; reserved so that `tasks` never
  // moves, and the index can hold views of its ids.
  size_t most = 0;
  for (const auto& run : runs) {
    most += 1;
    if (!run.eval) continue;
    const auto& e = *run.eval;
    most += 2 * std::max<size_t>(1, e.at_iterations.size()) * std::max<size_t>(1, e.sampling_steps.size()) *
            (e.sampler == "ddim" ? e.eta.size() : 1);
  }
  tasks.reserve(most);
  std::unordered_map<std::string_view, size_t> index;  // task id (in tasks) -> position
  index.reserve(most);
  auto add = [&](TaskSpec&& t, const std::string& cell) {
    auto it = index.find(t.task_id);
    if (it == index.end()) {
      REPRO_CHECK(tasks.size() < tasks.capacity(), "plan_tasks reserved too few tasks");
      tasks.push_back(std::move(t));
      it = index.emplace(tasks.back().task_id, tasks.size() - 1).first;
    }
    auto& task = tasks[it->second];
    if (std::find(task.cells.begin(), task.cells.end(), cell) == task.cells.end()) task.cells.push_back(cell);
  };
  // Cells sharing a run may ask for different lengths: train to the longest. The length is part
  // of the train task's id, so asking for more steps later is a new task that resumes the run.
  std::unordered_map<std::string, int64_t> length;
  for (const auto& run : runs) length[run.run_id] = std::max(length[run.run_id], run.train.train.iterations);
  for (const auto& run : runs) {
    const std::string cell = run.label_string();
    const auto& t = run.train.train;
    const int64_t train_length = length[run.run_id];
    const std::string train_id = run.run_id + "-train" + std::to_string(train_length);
    if (!index.count(train_id)) {  // the first cell of a run writes its training file
      TaskSpec train;
      train.task_id = train_id;
      train.run_id = run.run_id;
      train.kind = "train";
      train.spec = spec_text(TrainTaskSpec{train_yaml(run, texts), run.identity_json, train_length});
      train.processes = t.planned_world_size();
      add(std::move(train), cell);
    } else {
      TaskSpec known;  // only its id: add() finds the task and notes the cell
      known.task_id = train_id;
      add(std::move(known), cell);
    }
    if (!run.eval) continue;
    const auto& e = *run.eval;
    std::vector<int64_t> checkpoints = e.at_iterations;
    if (checkpoints.empty()) checkpoints.push_back(t.iterations);
    std::vector<int> steps = e.sampling_steps;
    if (steps.empty()) steps.push_back(run.train.diffusion.diffusion_steps);
    const std::vector<double> etas = e.sampler == "ddim" ? e.eta : std::vector<double>{0.0};
    SampleTaskSpec sample_spec;  // the run's members; the loops set checkpoint_step, steps and eta
    sample_spec.batch_size = e.batch_size;
    sample_spec.clip_denoised = e.clip_denoised;
    sample_spec.ema = e.ema;
    sample_spec.num_samples = e.num_samples;
    sample_spec.sampler = e.sampler;
    sample_spec.seed = t.seed;
    EvalTaskSpec eval_spec;  // the loops set samples_of
    eval_spec.batch_size = e.batch_size;
    eval_spec.features = e.features;
    eval_spec.metrics = e.metrics;
    eval_spec.reference = e.reference;
    // The ids hash {"run": .., "sample": ..} and {"eval": .., "run": .., "sample": ..}, the keys
    // in nlohmann's (sorted) order.
    const std::string run_json = "\"run\":\"" + run.run_id + "\"";
    for (int64_t k : checkpoints) {
      sample_spec.checkpoint_step = k;
      const std::string checkpoint = checkpoint_file(sample_spec);
      for (int s : steps)
        for (double eta : etas) {
          sample_spec.steps = s;
          sample_spec.eta = eta;
          TaskSpec sample;
          sample.run_id = run.run_id;
          sample.kind = "sample";
          sample.depends_on = {train_id};
          sample.early_start_file = checkpoint;
          sample.spec = spec_text(sample_spec);
          sample.task_id =
              run.run_id + "-sample-" + sha256_hex("{" + run_json + ",\"sample\":" + sample.spec + "}").substr(0, 12);
          eval_spec.samples_of = sample.task_id;
          TaskSpec eval;
          eval.run_id = run.run_id;
          eval.kind = "eval";
          eval.depends_on = {sample.task_id};
          eval.spec = spec_text(eval_spec);
          // The result id: the run, how it was sampled and how it is measured.
          eval.task_id =
              run.run_id + "-eval-" +
              sha256_hex("{\"eval\":" + eval.spec + "," + run_json + ",\"sample\":" + sample.spec + "}").substr(0, 12);
          add(std::move(sample), cell);
          add(std::move(eval), cell);
        }
    }
  }
  return tasks;
}

}  // namespace repro::runner
