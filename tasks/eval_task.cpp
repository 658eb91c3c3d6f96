#include <nlohmann/json.hpp>

#include <filesystem>
#include <ostream>

#include "base/util/errors.h"
#include "base/util/event_log.h"
#include "base/util/npy.h"
#include "base/util/sha256.h"
#include "config/train_config_yaml.h"
#include "core/util/device.h"
#include "metrics/evaluation.h"
#include "metrics/reference_batch.h"
#include "tasks/eval_common.h"
#include "tasks/provenance.h"
#include "tasks/task_bodies.h"

namespace repro::tasks {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// The parts of the data that are subsets: {"reference": ..., "train": ...} (only those that are), null
// when none is. Numbers on a subset are not comparable with ones on the whole data: reports flag them.
json data_subset_of(const std::string& run_dir, const json& ref_recipe) {
  json subset = json::object();
  if (const std::string ref = reference_subset_text(ref_recipe); !ref.empty()) subset["reference"] = ref;
  const fs::path train_yaml = fs::path(run_dir) / "train.yaml";
  if (fs::exists(train_yaml)) {  // a run from a checkpoint file has no training data (data.path "")
    const auto file = config::read_train_file(train_yaml.string());
    if (file.data.path.empty()) return subset.empty() ? json() : subset;
    if (const std::string train = train_subset_text(file.data.path); !train.empty()) subset["train"] = train;
  }
  return subset.empty() ? json() : subset;
}

// Writes the metrics and their recipe (the network, the reference and its statistics) as a
// `result` record, then prints them as the evaluator does. The network runs on `device`.
void evaluate_samples(const runner::EvalTaskSpec& spec, const TaskFile& task, const std::string& samples_path,
                      const torch::Device& device, EventLog& events, std::ostream& err) {
  auto arrays = read_npz(samples_path);
  if (!arrays.count("arr_0")) throw DataError(samples_path + ": no arr_0 (the sample task's output)");
  auto net = make_feature_network(spec.features, feature_batch_for(device, spec.batch_size), device);
  metrics::EvaluationOptions options;
  options.metrics = spec.metrics;
  options.sample_progress = feature_progress("samples: features", err);
  options.reference_progress = feature_progress("reference: features", err);
  const bool needs_reference = options.metrics != std::vector<std::string>{"is"};
  metrics::ReferenceBatch ref;
  json ref_recipe;
  json recipe = {{"features", net->description()},
                 {"comparable_with_published", spec.features == "inception"},
                 {"num_samples", arrays.at("arr_0").shape[0]},
                 {"evaluator", "guided-diffusion evaluations/evaluator.py recipe (repro metrics)"}};
  if (needs_reference) {
    ref = metrics::read_reference_batch(spec.reference);
    ref_recipe = read_reference_recipe(spec.reference);
    check_reference_network(spec.reference, ref_recipe, net->weights_info());
    recipe["reference"] = spec.reference;
    recipe["reference_sha256"] = sha256_file_hex(spec.reference);
    if (!ref_recipe.is_null()) recipe["reference_recipe"] = ref_recipe;
  }
  const json subset = data_subset_of(task.run_dir, ref_recipe);  // before the long part: it may throw
  const metrics::Evaluation e = metrics::evaluate(*net, arrays.at("arr_0"), ref, options);
  json values = json::object();
  for (const auto& [k, v] : e.values) values[k] = v;
  recipe["reference_statistics"] = e.reference_statistics;
  if (e.num_reference > 0) recipe["num_reference"] = e.num_reference;  // reports flag too few (result_banners.h)
  if (!subset.is_null()) recipe["data_subset"] = subset;
  events.write({{"type", "result"}, {"result_id", task.task_id}, {"metrics", values}, {"recipe", recipe}}, true);
  err << metrics::format_like_evaluator(e);
}

}  // namespace

int eval_task(const TaskFile& task, const runner::EvalTaskSpec& spec, std::ostream& err) {
  const std::string samples_path = (fs::path(task.run_dir) / "samples" / (spec.samples_of + ".npz")).string();
  EventLog events(task.events);
  // The task's GPU slot as the sample and train tasks take theirs (CUDA_VISIBLE_DEVICES), else the CPU.
  const core::DeviceInfo device = core::select_device("auto");
  nlohmann::json provenance = task_provenance(device.description);
  provenance["feature_batch"] = std::to_string(feature_batch_for(device.device, spec.batch_size));
  events.write({{"type", "start"}, {"task_id", task.task_id}, {"kind", "eval"}, {"provenance", provenance}}, true);
  try {
    evaluate_samples(spec, task, samples_path, device.device, events, err);
  } catch (const std::exception& e) {
    events.write({{"type", "end"}, {"status", "error"}, {"message", e.what()}}, true);
    throw;
  }
  events.write({{"type", "end"}, {"status", "completed"}}, true);
  return 0;
}

}  // namespace repro::tasks
