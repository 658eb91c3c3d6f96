#include "cli/eval_task.h"

#include <filesystem>
#include <ostream>

#include "cli/eval_common.h"
#include "cli/provenance.h"
#include "core/util/device.h"
#include "core/util/errors.h"
#include "core/util/event_log.h"
#include "core/util/npy.h"
#include "core/util/sha256.h"
#include "metrics/evaluation.h"
#include "metrics/reference_batch.h"

namespace repro::cli {

namespace fs = std::filesystem;
using nlohmann::json;

int eval_task(const json& t, std::ostream& err) {
  const fs::path run_dir = t.at("run_dir").get<std::string>();
  const auto& spec = t.at("spec");
  const std::string task_id = t.at("task_id");
  const std::string samples_path = (run_dir / "samples" / (spec.at("samples_of").get<std::string>() + ".npz")).string();
  const std::string reference = spec.at("reference").get<std::string>();
  const std::string features = spec.at("features").get<std::string>();

  EventLog events(t.at("events").get<std::string>());
  events.write({{"type", "start"},
                {"task_id", task_id},
                {"kind", "eval"},
                {"provenance", task_provenance(core::select_device("auto").description)}},
               true);
  try {
    auto arrays = read_npz(samples_path);
    if (!arrays.count("arr_0")) throw DataError(samples_path + ": no arr_0 (the sample task's output)");
    auto net = make_feature_network(features, spec.value("batch_size", 64), "cpu");
    metrics::EvaluationOptions options;
    options.metrics = spec.at("metrics").get<std::vector<std::string>>();
    options.sample_progress = feature_progress("samples: features", err);
    options.reference_progress = feature_progress("reference: features", err);
    const bool needs_reference = options.metrics != std::vector<std::string>{"is"};
    metrics::ReferenceBatch ref;
    json recipe = {{"features", net->description()},
                   {"comparable_with_published", features == "inception"},
                   {"num_samples", arrays.at("arr_0").shape[0]},
                   {"evaluator", "guided-diffusion evaluations/evaluator.py recipe (repro metrics)"}};
    if (needs_reference) {
      ref = metrics::read_reference_batch(reference);
      const json ref_recipe = read_reference_recipe(reference);
      check_reference_network(reference, ref_recipe, net->weights_info());
      recipe["reference"] = reference;
      recipe["reference_sha256"] = sha256_file_hex(reference);
      if (!ref_recipe.is_null()) recipe["reference_recipe"] = ref_recipe;
    }
    const metrics::Evaluation e = metrics::evaluate(*net, arrays.at("arr_0"), ref, options);
    json values = json::object();
    for (const auto& [k, v] : e.values) values[k] = v;
    recipe["reference_statistics"] = e.reference_statistics;
    events.write({{"type", "result"}, {"result_id", task_id}, {"metrics", values}, {"recipe", recipe}}, true);
    err << metrics::format_like_evaluator(e);
  } catch (const std::exception& e) {
    events.write({{"type", "end"}, {"status", "error"}, {"message", e.what()}}, true);
    throw;
  }
  events.write({{"type", "end"}, {"status", "completed"}}, true);
  return 0;
}

}  // namespace repro::cli
