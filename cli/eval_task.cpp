#include "cli/eval_task.h"

#include <cstdlib>
#include <filesystem>
#include <ostream>

#include "core/util/errors.h"
#include "core/util/event_log.h"
#include "core/util/npy.h"
#include "core/util/sha256.h"
#include "metrics/feature_stats.h"
#include "metrics/fid.h"
#include "metrics/inception/feature_extractor.h"
#include "metrics/inception_score.h"
#include "metrics/precision_recall.h"
#include "metrics/reference_batch.h"

namespace repro::cli {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// The FID network's weights for `features: inception`: $REPRO_INCEPTION_WEIGHTS, else the cache
// path pytorch-fid's file is expected at (the loader's error says where to download it).
std::string inception_weights_path() {
  if (const char* p = std::getenv("REPRO_INCEPTION_WEIGHTS")) return p;
  const char* cache = std::getenv("XDG_CACHE_HOME");
  const char* home = std::getenv("HOME");
  const fs::path base = cache ? fs::path(cache) : fs::path(home ? home : ".") / ".cache";
  return (base / "repro" / "pt_inception-2015-12-05-6726825d.pth").string();
}

metrics::InceptionFeatures features_of(metrics::FeatureNetwork& net, const NpyArray& images, const std::string& what,
                                       std::ostream& err) {
  if (images.descr != "|u1" || images.shape.size() != 4 || images.shape[3] != 3)
    throw DataError(what + ": expected uint8 images [N, H, W, 3], got " + images.descr + " " + shape_repr(images.shape));
  return net.compute(reinterpret_cast<const uint8_t*>(images.data.data()), images.shape[0], images.shape[1],
                     images.shape[2], 3, {}, [&err, &what](int64_t done, int64_t total) {
                       if (done == total || done % 1024 < 64) err << what << ": features " << done << "/" << total << "\n";
                     });
}

}  // namespace

int eval_task(const json& t, std::ostream& err) {
  const fs::path run_dir = t.at("run_dir").get<std::string>();
  const auto& spec = t.at("spec");
  const std::string task_id = t.at("task_id");
  const std::string samples_path = (run_dir / "samples" / (spec.at("samples_of").get<std::string>() + ".npz")).string();
  const std::string reference = spec.at("reference").get<std::string>();
  const auto wanted = spec.at("metrics").get<std::vector<std::string>>();
  auto wants = [&](const std::string& m) { return std::find(wanted.begin(), wanted.end(), m) != wanted.end(); };
  const std::string features = spec.at("features").get<std::string>();

  EventLog events(t.at("events").get<std::string>());
  events.write({{"type", "start"}, {"task_id", task_id}, {"kind", "eval"}}, true);
  try {
    auto arrays = read_npz(samples_path);
    if (!arrays.count("arr_0")) throw DataError(samples_path + ": no arr_0 (the sample task's output)");
    metrics::FeatureExtractorOptions fo;
    fo.weights = features == "inception" ? inception_weights_path() : metrics::kRandomInception;
    fo.batch_size = spec.value("batch_size", 64);
    metrics::FeatureExtractor net(fo);
    const auto sample = features_of(net, arrays.at("arr_0"), "samples", err);
    json values = json::object();
    json recipe = {{"features", net.description()},
                   {"comparable_with_published", features == "inception"},
                   {"num_samples", arrays.at("arr_0").shape[0]},
                   {"evaluator", "guided-diffusion evaluations/evaluator.py recipe (repro metrics)"}};
    if (wants("is")) values["is"] = metrics::compute_inception_score(sample.logits);
    if (wants("fid") || wants("sfid") || wants("pr")) {
      const auto ref = metrics::read_reference_batch(reference);
      recipe["reference"] = reference;
      recipe["reference_sha256"] = sha256_file_hex(reference);
      // The evaluator uses the reference's stored statistics when it has them (all four).
      std::optional<metrics::InceptionFeatures> ref_features;
      const bool need_images = wants("pr") || !ref.stats;
      if (need_images) {
        if (!ref.images) throw DataError(reference + ": no arr_0 images, which precision/recall needs");
        ref_features = features_of(net, *ref.images, "reference", err);
      }
      const auto ref_stats = ref.stats ? *ref.stats : metrics::compute_statistics(ref_features->pool_3);
      const auto ref_spatial = ref.spatial_stats ? *ref.spatial_stats : metrics::compute_statistics(ref_features->spatial);
      if (wants("fid")) values["fid"] = metrics::frechet_distance(metrics::compute_statistics(sample.pool_3), ref_stats);
      if (wants("sfid"))
        values["sfid"] = metrics::frechet_distance(metrics::compute_statistics(sample.spatial), ref_spatial);
      if (wants("pr")) {
        const auto pr = metrics::compute_prec_recall(ref_features->pool_3, sample.pool_3);
        values["precision"] = pr.precision;
        values["recall"] = pr.recall;
      }
    }
    events.write({{"type", "result"}, {"result_id", task_id}, {"metrics", values}, {"recipe", recipe}}, true);
    for (const auto& [k, v] : values.items()) err << k << ": " << v.get<double>() << "\n";
  } catch (const std::exception& e) {
    events.write({{"type", "end"}, {"status", "error"}, {"message", e.what()}}, true);
    throw;
  }
  events.write({{"type", "end"}, {"status", "completed"}}, true);
  return 0;
}

}  // namespace repro::cli
