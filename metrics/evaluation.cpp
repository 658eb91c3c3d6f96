#include "metrics/evaluation.h"

#include <algorithm>
#include <charconv>
#include <optional>
#include <sstream>

#include "base/util/errors.h"
#include "metrics/feature_stats.h"
#include "metrics/fid.h"
#include "metrics/inception_score.h"

namespace repro::metrics {
namespace {

InceptionFeatures features_of(FeatureNetwork& net, const NpyArray& images, const std::string& what,
                              const FeatureTaps& taps, const FeatureProgress& progress) {
  const auto& s = images.shape;
  if (images.descr != "|u1" || s.size() != 4 || s[3] != 3 || s[0] < 1)
    throw DataError(what + ": expected uint8 images [N, H, W, 3], got dtype " + images.descr + " shape " +
                    shape_repr(s));
  return net.compute(reinterpret_cast<const uint8_t*>(images.data.data()), s[0], s[1], s[2], 3, taps, progress);
}

void check_dims(const FidStatistics& ref, const RowMatrixXf& sample, const std::string& what) {
  if (ref.mu.size() != sample.cols())
    throw DataError("reference " + what + " statistics have dimension " + std::to_string(ref.mu.size()) +
                    ", the samples' features " + std::to_string(sample.cols()) +
                    " (statistics from another network or tap?)");
}

// Python's repr of a float: the shortest text that reads back to the same double.
std::string py_repr(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  std::string s(buf, end);
  if (s.find_first_of(".eninf") == std::string::npos) s += ".0";
  return s;
}

}  // namespace

void check_metric_names(const std::vector<std::string>& metrics, const std::string& where) {
  if (metrics.empty()) throw DataError(where + ": no metrics asked for (expected some of is, fid, sfid, pr)");
  for (const auto& m : metrics) {
    if (std::find(kEvaluationMetrics.begin(), kEvaluationMetrics.end(), m) == kEvaluationMetrics.end())
      throw DataError(where + ": unknown metric '" + m + "' (expected is, fid, sfid or pr)");
  }
}

Evaluation evaluate(FeatureNetwork& net, const NpyArray& samples, const ReferenceBatch& ref,
                    const EvaluationOptions& options) {
  check_metric_names(options.metrics, "evaluate");
  auto wants = [&](const char* m) {
    return std::find(options.metrics.begin(), options.metrics.end(), m) != options.metrics.end();
  };
  Evaluation e;
  FeatureTaps taps;
  taps.logits = wants("is");
  taps.spatial = wants("sfid");
  taps.pool_3 = wants("fid") || wants("pr");
  const InceptionFeatures sample = features_of(net, samples, "samples", taps, options.sample_progress);
  e.num_samples = samples.shape[0];
  if (wants("is")) e.values["is"] = compute_inception_score(sample.logits);

  const bool pool_stats = wants("fid"), spatial_stats = wants("sfid"), pr = wants("pr");
  if (!pool_stats && !spatial_stats && !pr) return e;
  // The evaluator uses stored statistics when the file has them (read_statistics) and computes
  // the reference's activations from arr_0 for precision/recall; repro's pool_3 key saves that.
  const bool need_stats_images = (pool_stats || spatial_stats) && !ref.stats;
  const bool need_pr_images = pr && !ref.pool_3;
  std::optional<InceptionFeatures> ref_features;
  if (need_stats_images || need_pr_images) {
    if (!ref.images)
      throw DataError("the reference has no arr_0 images, which " +
                      std::string(need_pr_images ? "precision/recall (no stored pool_3 features)"
                                                 : "FID/sFID (no stored statistics)") +
                      " needs");
    FeatureTaps ref_taps;
    ref_taps.logits = false;
    ref_taps.spatial = spatial_stats && need_stats_images;
    ref_taps.pool_3 = (pool_stats && need_stats_images) || need_pr_images;
    ref_features = features_of(net, *ref.images, "reference", ref_taps, options.reference_progress);
    e.num_reference = ref.images->shape[0];
  }
  e.reference_statistics = (pool_stats || spatial_stats) ? (ref.stats ? "file" : "images") : "";
  e.reference_features = pr ? (ref.pool_3 ? "file" : "images") : "";
  if (pool_stats) {
    const FidStatistics r = ref.stats ? *ref.stats : compute_statistics(ref_features->pool_3);
    check_dims(r, sample.pool_3, "pool_3 (mu, sigma)");
    e.values["fid"] = frechet_distance(compute_statistics(sample.pool_3), r);
  }
  if (spatial_stats) {
    const FidStatistics r = ref.spatial_stats ? *ref.spatial_stats : compute_statistics(ref_features->spatial);
    check_dims(r, sample.spatial, "spatial (mu_s, sigma_s)");
    e.values["sfid"] = frechet_distance(compute_statistics(sample.spatial), r);
  }
  if (pr) {
    const RowMatrixXf& r = ref.pool_3 ? *ref.pool_3 : ref_features->pool_3;
    if (r.cols() != sample.pool_3.cols())
      throw DataError("reference pool_3 features have dimension " + std::to_string(r.cols()) + ", the samples' " +
                      std::to_string(sample.pool_3.cols()));
    if (ref.pool_3) e.num_reference = std::max<int64_t>(e.num_reference, r.rows());
    ManifoldEstimatorOptions mo;
    mo.precision = options.pr_precision;
    const PrecisionRecall p = compute_prec_recall(r, sample.pool_3, mo);
    e.values["precision"] = p.precision;
    e.values["recall"] = p.recall;
  }
  return e;
}

std::string format_like_evaluator(const Evaluation& e) {
  std::ostringstream out;
  const std::pair<const char*, const char*> order[] = {
      {"is", "Inception Score"}, {"fid", "FID"}, {"sfid", "sFID"}, {"precision", "Precision"}, {"recall", "Recall"}};
  for (const auto& [key, label] : order) {
    if (auto it = e.values.find(key); it != e.values.end()) out << label << ": " << py_repr(it->second) << "\n";
  }
  return out.str();
}

}  // namespace repro::metrics
