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
  const ConfigTree config = without(without(run.config, "eval"), "checkpoint");
  if (run.checkpoint) return emitted(without(config, "data"), texts) + "\n";  // it trained on no data of ours
  auto data = std::make_shared<ConfigNode>();
  data->type = YAML::NodeType::Scalar;
  data->scalar = run.train.data.path;
  return emitted(with_value(config, {"data", "path"}, data), texts) + "\n";
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

namespace {

// The chains a cell samples: from noise one per sampling step count (start_t 0); from data one per
// K of eval.start.t, on the full process (steps = diffusion_steps).
struct Chain {
  int steps = 0;
  int start_t = 0;
};
std::vector<Chain> chains_of(const PlannedRun& run) {
  const auto& e = *run.eval;
  const int full = run.train.diffusion.diffusion_steps;
  std::vector<Chain> chains;
  if (e.start.from == "data") {
    for (int k : e.start.t) chains.push_back({full, k});
  } else {
    for (int s : e.sampling_steps) chains.push_back({s, 0});
    if (chains.empty()) chains.push_back({full, 0});
  }
  return chains;
}

// At most 1 + (2 + 1 with eval.exposure) x checkpoints x chains x etas x eps_scales tasks per cell.
size_t most_tasks(const std::vector<PlannedRun>& runs) {
  size_t most = 0;
  for (const auto& run : runs) {
    most += 1;
    if (!run.eval) continue;
    const auto& e = *run.eval;
    const size_t chains = e.start.from == "data" ? e.start.t.size() : std::max<size_t>(1, e.sampling_steps.size());
    most += (e.exposure.num > 0 ? 3 : 2) * std::max<size_t>(1, e.at_iterations.size()) * chains *
            (e.sampler == "ddim" ? e.eta.size() : 1) * e.eps_scale.size();
  }
  return most;
}

// eval.precision resolved against the run's model: "" where it is the model's training
// precision (auto, or the same value written out), so that those tasks keep their ids.
std::string sampling_precision(const std::string& requested, const core::UNetConfig& model) {
  const std::string trained = model.use_fp16 ? model.precision : "fp32";
  return requested == "auto" || requested == trained ? "" : requested;
}

// What every sample task of a run shares; the loops set checkpoint_step, steps and eta.
SampleTaskSpec sample_template(const PlannedRun& run) {
  const auto& e = *run.eval;
  SampleTaskSpec s;
  s.batch_size = e.batch_size;
  s.clip_denoised = e.clip_denoised;
  s.ema = run.checkpoint ? run.checkpoint->ema : e.ema;
  if (run.checkpoint) s.checkpoint_sha256 = run.checkpoint->identity_sha256();
  s.num_samples = e.num_samples;
  s.precision = sampling_precision(e.precision, run.train.model);
  s.sampler = e.sampler;
  s.seed = run.train.train.seed;
  s.to_uint8 = e.to_uint8;
  return s;
}

// What every eval task of a run shares; the loops set samples_of.
EvalTaskSpec eval_template(const PlannedRun& run) {
  const auto& e = *run.eval;
  EvalTaskSpec s;
  s.batch_size = e.batch_size;
  s.features = e.features;
  s.metrics = e.metrics;
  s.reference = e.reference;
  return s;
}

// The tasks in the order they are first added, deduplicated by id, each with the cells that need it.
class TaskGraph {
 public:
  explicit TaskGraph(size_t most) {
    // Reserved so that `tasks_` never moves, and the index can hold views of its ids.
    tasks_.reserve(most);
    index_.reserve(most);
  }

  bool has(const std::string& task_id) const { return index_.count(task_id) > 0; }

  void add(TaskSpec&& t, const std::string& cell) {
    auto it = index_.find(t.task_id);
    if (it == index_.end()) {
      REPRO_CHECK(tasks_.size() < tasks_.capacity(), "plan_tasks reserved too few tasks");
      tasks_.push_back(std::move(t));
      it = index_.emplace(tasks_.back().task_id, tasks_.size() - 1).first;
    }
    auto& task = tasks_[it->second];
    if (std::find(task.cells.begin(), task.cells.end(), cell) == task.cells.end()) task.cells.push_back(cell);
  }

  std::vector<TaskSpec> take() { return std::move(tasks_); }

 private:
  std::vector<TaskSpec> tasks_;
  std::unordered_map<std::string_view, size_t> index_;  // task id (in tasks_) -> position
};

// What one run's train task is planned from: the longest length its cells ask for, and every
// step they sample (train.keep "evaluated" keeps these).
struct TrainPlan {
  int64_t length = 0;
  std::vector<int64_t> keep_steps;  // sorted, unique once plan_tasks has seen every cell
};

// The checkpoint steps a cell samples: eval.at_iterations, else its last step; none without eval.
void add_evaluated_steps(const PlannedRun& run, std::vector<int64_t>& steps) {
  if (!run.eval) return;
  if (run.eval->at_iterations.empty()) steps.push_back(run.train.train.iterations);
  steps.insert(steps.end(), run.eval->at_iterations.begin(), run.eval->at_iterations.end());
}

// The run's train task to `plan.length` steps; the first cell of a run writes its training file.
std::string add_train(TaskGraph& graph, const PlannedRun& run, const std::string& cell, const TrainPlan& plan,
                      ScalarTexts& texts) {
  const int64_t length = plan.length;
  TaskSpec train;
  train.task_id = run.run_id + "-train" + std::to_string(length);
  std::string train_id = train.task_id;
  if (!graph.has(train_id)) {
    train.run_id = run.run_id;
    train.kind = "train";
    train.spec = spec_text(TrainTaskSpec{train_yaml(run, texts), run.identity_json, length, plan.keep_steps});
    train.processes = run.train.train.planned_world_size();
  }  // else only its id: add() finds the task and notes the cell
  graph.add(std::move(train), cell);
  return train_id;
}

// A sample task of `spec` (its id hashes {"run": .., "sample": ..}): after the run's train task,
// startable once its checkpoint exists; for a run from a checkpoint file, on that file at once.
TaskSpec sample_task(const PlannedRun& run, const std::string& train_id, const std::string& checkpoint,
                     const SampleTaskSpec& spec) {
  TaskSpec task;
  task.run_id = run.run_id;
  task.kind = "sample";
  task.spec = spec_text(spec);
  task.task_id = run.run_id + "-sample-" +
                 sha256_hex("{\"run\":\"" + run.run_id + "\",\"sample\":" + task.spec + "}").substr(0, 12);
  if (run.checkpoint) {
    task.checkpoint_path = run.checkpoint->path;
    task.run_config = train_yaml(run);
  } else {
    task.depends_on = {train_id};
    task.early_start_file = checkpoint;
  }
  return task;
}

// A sample task and the eval task of its samples. The ids hash {"run": .., "sample": ..} and
// {"eval": .., "run": .., "sample": ..}, the keys in nlohmann's (sorted) order.
void add_sample_and_eval(TaskGraph& graph, const PlannedRun& run, const std::string& cell, const std::string& train_id,
                         const std::string& checkpoint, const SampleTaskSpec& sample_spec, EvalTaskSpec& eval_spec) {
  const std::string run_json = "\"run\":\"" + run.run_id + "\"";
  TaskSpec sample = sample_task(run, train_id, checkpoint, sample_spec);
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
  graph.add(std::move(sample), cell);
  graph.add(std::move(eval), cell);
}

// The exposure task (eval.exposure) beside a sample task: the same checkpoint and sampler setting,
// measured on exposure.num images; no eval task reads it. Step mode measures single steps out of
// q(x_t+1 | x0), where a chain's start means nothing: one task for every start K.
void add_exposure(TaskGraph& graph, const PlannedRun& run, const std::string& cell, const std::string& train_id,
                  const std::string& checkpoint, SampleTaskSpec spec) {
  const auto& x = run.eval->exposure;
  spec.exposure_num = x.num;
  spec.exposure_mode = x.mode;
  spec.num_samples = x.num;
  spec.data = run.eval->exposure_data();
  if (x.mode == "step") spec.start_t = 0;
  TaskSpec task = sample_task(run, train_id, checkpoint, spec);
  graph.add(std::move(task), cell);
}

// Per checkpoint to evaluate, chain (sampling step count or start K), eta and eps_scale entry: a
// sample task and its eval task, and an exposure task when eval.exposure asks for one.
void add_evaluations(TaskGraph& graph, const PlannedRun& run, const std::string& cell, const std::string& train_id) {
  const auto& e = *run.eval;
  std::vector<int64_t> checkpoints = e.at_iterations;
  if (checkpoints.empty())
    checkpoints.push_back(run.checkpoint ? run.checkpoint->iteration : run.train.train.iterations);
  const std::vector<Chain> chains = chains_of(run);
  const std::string& start_data = e.start_data();
  const std::vector<double> etas = e.sampler == "ddim" ? e.eta : std::vector<double>{0.0};
  SampleTaskSpec sample_spec = sample_template(run);
  EvalTaskSpec eval_spec = eval_template(run);
  for (int64_t k : checkpoints) {
    sample_spec.checkpoint_step = k;
    const std::string checkpoint = checkpoint_file(sample_spec);
    for (const Chain& c : chains)
      for (double eta : etas)
        for (const core::EpsScale& lambda : e.eps_scale) {
          sample_spec.steps = c.steps;
          sample_spec.start_t = c.start_t;
          sample_spec.data = c.start_t > 0 ? start_data : "";
          sample_spec.eta = eta;
          sample_spec.eps_scale_b = lambda.b;
          sample_spec.eps_scale_k = lambda.k;
          add_sample_and_eval(graph, run, cell, train_id, checkpoint, sample_spec, eval_spec);
          if (e.exposure.num > 0) add_exposure(graph, run, cell, train_id, checkpoint, sample_spec);
        }
  }
}

}  // namespace

std::vector<TaskSpec> plan_tasks(const std::vector<PlannedRun>& runs, const std::vector<PlannedRun>* all) {
  TaskGraph graph(most_tasks(runs));
  ScalarTexts texts;
  // Cells sharing a run may ask for different lengths: train to the longest. The length is part
  // of the train task's id, so asking for more steps later is a new task that resumes the run.
  std::unordered_map<std::string, TrainPlan> train_plans;
  for (const auto& run : runs) {
    if (run.checkpoint) continue;  // nothing to train
    TrainPlan& p = train_plans[run.run_id];
    p.length = std::max(p.length, run.train.train.iterations);
    add_evaluated_steps(run, p.keep_steps);
  }
  // The cells --only left out sample the planned runs too (their lengths are theirs to ask for).
  if (all)
    for (const auto& run : *all)
      if (auto it = train_plans.find(run.run_id); it != train_plans.end())
        add_evaluated_steps(run, it->second.keep_steps);
  for (auto& [id, p] : train_plans) {
    std::sort(p.keep_steps.begin(), p.keep_steps.end());
    p.keep_steps.erase(std::unique(p.keep_steps.begin(), p.keep_steps.end()), p.keep_steps.end());
  }
  for (const auto& run : runs) {
    const std::string cell = run.label_string();
    const std::string train_id = run.checkpoint ? "" : add_train(graph, run, cell, train_plans[run.run_id], texts);
    if (run.eval) add_evaluations(graph, run, cell, train_id);
  }
  return graph.take();
}

}  // namespace repro::runner
