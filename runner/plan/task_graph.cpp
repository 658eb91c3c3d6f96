#include "runner/plan/task_graph.h"

#include <algorithm>
#include <initializer_list>
#include <string_view>
#include <unordered_map>

#include "core/train/checkpoint_names.h"
#include "core/util/errors.h"
#include "core/util/sha256.h"
#include "runner/experiment/yaml_merge.h"

namespace repro::runner {

namespace {

// The parts, concatenated into a string of just their size (a plan holds many specs).
std::string joined(std::initializer_list<std::string_view> parts) {
  size_t size = 0;
  for (const auto& p : parts) size += p.size();
  std::string out;
  out.reserve(size);
  for (const auto& p : parts) out += p;
  return out;
}

std::string train_yaml(const PlannedRun& run, ScalarTexts& texts) {
  auto data = std::make_shared<ConfigNode>();
  data->type = YAML::NodeType::Scalar;
  data->scalar = run.train.data.path;
  const ConfigTree tree = with_value(without(run.config, "eval"), {"data", "path"}, data);
  return emitted(tree, texts) + "\n";
}

}  // namespace

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
      // {"config":..,"identity":..,"iterations":..}, the keys in nlohmann's (sorted) order.
      train.spec = joined({"{\"config\":", nlohmann::json(train_yaml(run, texts)).dump(), ",\"identity\":",
                           run.identity_json, ",\"iterations\":", std::to_string(train_length), "}"});
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
    // The specs are nlohmann's compact dumps (keys sorted, no spaces), written out from the dumps
    // of their members, the run's constant members once; so are the hashed texts {"run": ..,
    // "sample": ..} and {"eval": .., "run": .., "sample": ..}.
    auto dumped = [](const auto& value) { return nlohmann::json(value).dump(); };
    // {"batch_size":B,"checkpoint_step":K,"clip_denoised":C,"ema":E,"eta":H,"num_samples":N,"sampler":S,"seed":D,"steps":T}
    const std::string sample_k = "{\"batch_size\":" + dumped(e.batch_size) + ",\"checkpoint_step\":";
    const std::string sample_eta =
        ",\"clip_denoised\":" + dumped(e.clip_denoised) + ",\"ema\":" + dumped(e.ema) + ",\"eta\":";
    const std::string sample_steps = ",\"num_samples\":" + dumped(e.num_samples) + ",\"sampler\":" +
                                     dumped(e.sampler) + ",\"seed\":" + dumped(t.seed) + ",\"steps\":";
    nlohmann::json eval_template = nlohmann::json::object();
    eval_template["batch_size"] = e.batch_size;
    eval_template["features"] = e.features;
    eval_template["metrics"] = e.metrics;
    eval_template["reference"] = e.reference;
    // {"batch_size":..,"features":..,"metrics":..,"reference":..,"samples_of":"<id>"}: samples_of
    // sorts last, and a task id needs no escaping.
    std::string eval_open = eval_template.dump();
    eval_open.back() = ',';
    eval_open += "\"samples_of\":\"";
    const std::string run_json = "\"run\":\"" + run.run_id + "\"";
    std::vector<std::string> eta_json;
    for (double eta : etas) eta_json.push_back(nlohmann::json(eta).dump());
    for (int64_t k : checkpoints) {
      const std::string checkpoint =
          "checkpoints/" + (e.ema == "model" ? core::checkpoint_name("model", k) : core::ema_name(std::stod(e.ema), k));
      for (int s : steps)
        for (size_t i = 0; i < etas.size(); ++i) {
          TaskSpec sample;
          sample.run_id = run.run_id;
          sample.kind = "sample";
          sample.depends_on = {train_id};
          sample.early_start_file = checkpoint;
          sample.spec = joined({sample_k, std::to_string(k), sample_eta, eta_json[i], sample_steps, std::to_string(s), "}"});
          sample.task_id =
              run.run_id + "-sample-" + sha256_hex("{" + run_json + ",\"sample\":" + sample.spec + "}").substr(0, 12);
          TaskSpec eval;
          eval.run_id = run.run_id;
          eval.kind = "eval";
          eval.depends_on = {sample.task_id};
          eval.spec = joined({eval_open, sample.task_id, "\"}"});
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
