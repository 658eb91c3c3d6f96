#include "runner/plan/task_graph.h"

#include <algorithm>
#include <map>

#include "core/util/sha256.h"
#include "runner/experiment/yaml_merge.h"

namespace repro::runner {

namespace {

std::string short_hash(const nlohmann::json& j) { return sha256_hex(j.dump()).substr(0, 12); }

}  // namespace

std::string train_yaml(const PlannedRun& run) {
  YAML::Node tree = merged(run.config, YAML::Node());
  tree.remove("eval");
  tree["data"]["path"] = YAML::Node(run.train.data.path);  // a new leaf: the old one is shared with the file
  YAML::Emitter out;
  out << tree;
  return std::string(out.c_str()) + "\n";
}

std::vector<TaskSpec> plan_tasks(const std::vector<PlannedRun>& runs) {
  std::vector<TaskSpec> tasks;
  std::map<std::string, size_t> index;  // task id -> position
  auto add = [&](TaskSpec t, const std::string& cell) -> TaskSpec& {
    auto it = index.find(t.task_id);
    if (it == index.end()) {
      index[t.task_id] = tasks.size();
      tasks.push_back(std::move(t));
      it = index.find(tasks.back().task_id);
    }
    auto& task = tasks[it->second];
    if (std::find(task.cells.begin(), task.cells.end(), cell) == task.cells.end()) task.cells.push_back(cell);
    return task;
  };
  // Cells sharing a run may ask for different lengths: train to the longest. The length is part
  // of the train task's id, so asking for more steps later is a new task that resumes the run.
  std::map<std::string, int64_t> length;
  for (const auto& run : runs) length[run.run_id] = std::max(length[run.run_id], run.train.train.iterations);
  for (const auto& run : runs) {
    const std::string cell = run.label_string();
    const auto& t = run.train.train;
    TaskSpec train;
    train.task_id = run.run_id + "-train" + std::to_string(length[run.run_id]);
    train.run_id = run.run_id;
    train.kind = "train";
    train.spec = {{"iterations", length[run.run_id]}, {"config", train_yaml(run)}, {"identity", run.identity}};
    add(train, cell);
    if (!run.eval) continue;
    const auto& e = *run.eval;
    std::vector<int64_t> checkpoints = e.at_iterations;
    if (checkpoints.empty()) checkpoints.push_back(t.iterations);
    std::vector<int> steps = e.sampling_steps;
    if (steps.empty()) steps.push_back(run.train.diffusion.diffusion_steps);
    const std::vector<double> etas = e.sampler == "ddim" ? e.eta : std::vector<double>{0.0};
    for (int64_t k : checkpoints)
      for (int s : steps)
        for (double eta : etas) {
          TaskSpec sample;
          sample.run_id = run.run_id;
          sample.kind = "sample";
          sample.depends_on = {train.task_id};
          sample.spec = {{"checkpoint_step", k},   {"ema", e.ema},
                         {"steps", s},             {"sampler", e.sampler},
                         {"eta", eta},             {"num_samples", e.num_samples},
                         {"batch_size", e.batch_size}, {"clip_denoised", e.clip_denoised},
                         {"seed", t.seed}};
          sample.task_id = run.run_id + "-sample-" + short_hash({{"run", run.run_id}, {"sample", sample.spec}});
          add(sample, cell);
          TaskSpec eval;
          eval.run_id = run.run_id;
          eval.kind = "eval";
          eval.depends_on = {sample.task_id};
          eval.spec = {{"samples_of", sample.task_id}, {"reference", e.reference}, {"metrics", e.metrics},
                       {"features", e.features}, {"batch_size", e.batch_size}};
          // The result id: the run, how it was sampled and how it is measured.
          eval.task_id = run.run_id + "-eval-" +
                         short_hash({{"run", run.run_id}, {"sample", sample.spec}, {"eval", eval.spec}});
          add(eval, cell);
        }
  }
  return tasks;
}

}  // namespace repro::runner
