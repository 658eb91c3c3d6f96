#include "runner/plan/task_graph.h"

#include <algorithm>
#include <unordered_map>

#include "core/util/sha256.h"
#include "runner/experiment/yaml_merge.h"

namespace repro::runner {

std::string train_yaml(const PlannedRun& run) {
  auto data = std::make_shared<ConfigNode>();
  data->type = YAML::NodeType::Scalar;
  data->scalar = run.train.data.path;
  const ConfigTree tree = with_value(without(run.config, "eval"), {"data", "path"}, data);
  YAML::Emitter out;
  emit(out, tree);
  return std::string(out.c_str()) + "\n";
}

std::vector<TaskSpec> plan_tasks(const std::vector<PlannedRun>& runs) {
  std::vector<TaskSpec> tasks;
  std::unordered_map<std::string, size_t> index;  // task id -> position
  size_t per_run = 1;  // tasks of a run with eval: 1 + 2 x checkpoints x steps x etas (a guess to reserve by)
  if (!runs.empty() && runs.front().eval) {
    const auto& e = *runs.front().eval;
    per_run += 2 * std::max<size_t>(1, e.at_iterations.size()) * std::max<size_t>(1, e.sampling_steps.size()) *
               (e.sampler == "ddim" ? std::max<size_t>(1, e.eta.size()) : 1);
  }
  tasks.reserve(runs.size() * per_run);
  index.reserve(runs.size() * per_run);
  auto add = [&](TaskSpec&& t, const std::string& cell) {
    auto [it, fresh] = index.emplace(t.task_id, tasks.size());
    if (fresh) tasks.push_back(std::move(t));
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
      train.spec = {{"iterations", train_length}, {"config", train_yaml(run)}, {"identity", run.identity}};
      add(std::move(train), cell);
    } else {
      add(TaskSpec{train_id, run.run_id, "train", {}, {}, {}}, cell);
    }
    if (!run.eval) continue;
    const auto& e = *run.eval;
    std::vector<int64_t> checkpoints = e.at_iterations;
    if (checkpoints.empty()) checkpoints.push_back(t.iterations);
    std::vector<int> steps = e.sampling_steps;
    if (steps.empty()) steps.push_back(run.train.diffusion.diffusion_steps);
    const std::vector<double> etas = e.sampler == "ddim" ? e.eta : std::vector<double>{0.0};
    const nlohmann::json eval_template = {{"reference", e.reference}, {"metrics", e.metrics},
                                          {"features", e.features}, {"batch_size", e.batch_size}};
    for (int64_t k : checkpoints)
      for (int s : steps)
        for (double eta : etas) {
          TaskSpec sample;
          sample.run_id = run.run_id;
          sample.kind = "sample";
          sample.depends_on = {train_id};
          sample.spec = {{"checkpoint_step", k},   {"ema", e.ema},
                         {"steps", s},             {"sampler", e.sampler},
                         {"eta", eta},             {"num_samples", e.num_samples},
                         {"batch_size", e.batch_size}, {"clip_denoised", e.clip_denoised},
                         {"seed", t.seed}};
          // The hashed texts are nlohmann's compact dumps of {"run": .., "sample": ..} and
          // {"eval": .., "run": .., "sample": ..} (keys sorted), written out to dump the spec once.
          const std::string sample_json = sample.spec.dump();
          const std::string run_json = "\"run\":\"" + run.run_id + "\"";
          sample.task_id =
              run.run_id + "-sample-" + sha256_hex("{" + run_json + ",\"sample\":" + sample_json + "}").substr(0, 12);
          TaskSpec eval;
          eval.run_id = run.run_id;
          eval.kind = "eval";
          eval.depends_on = {sample.task_id};
          eval.spec = eval_template;
          eval.spec["samples_of"] = sample.task_id;
          // The result id: the run, how it was sampled and how it is measured.
          eval.task_id =
              run.run_id + "-eval-" +
              sha256_hex("{\"eval\":" + eval.spec.dump() + "," + run_json + ",\"sample\":" + sample_json + "}")
                  .substr(0, 12);
          add(std::move(sample), cell);
          add(std::move(eval), cell);
        }
  }
  return tasks;
}

}  // namespace repro::runner
