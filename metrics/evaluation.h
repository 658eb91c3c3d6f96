#pragma once
// The reference evaluator's main() (guided-diffusion evaluations/evaluator.py; paper-spec §7) over
// any FeatureNetwork: features of the sample batch, and of the reference batch where its stored
// statistics and features do not suffice, then Inception Score, FID, sFID, precision and recall.
// Torch-free: `repro eval`, the runner's eval task and the tests (with a fake network) share it.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/util/npy.h"
#include "metrics/feature_network.h"
#include "metrics/precision_recall.h"
#include "metrics/reference_batch.h"

namespace repro::metrics {

// The metric names `--metrics` and `eval.metrics` take; "pr" yields precision and recall.
inline const std::vector<std::string> kEvaluationMetrics = {"is", "fid", "sfid", "pr"};

struct EvaluationOptions {
  std::vector<std::string> metrics = kEvaluationMetrics;
  // The evaluator computes distance blocks in float16 and falls back to float32 (the default).
  DistancePrecision pr_precision = DistancePrecision::kFloat16WithFloat32Fallback;
  FeatureProgress sample_progress;     // per batch of the samples' features
  FeatureProgress reference_progress;  // per batch of the reference's features, when computed
};

struct Evaluation {
  std::map<std::string, double> values;  // is, fid, sfid, precision, recall (those asked for)
  int64_t num_samples = 0;
  int64_t num_reference = 0;  // reference images whose features were used; 0 = stored statistics only
  // Where the reference's numbers came from: "file" (stored mu/sigma, pool_3) or "images" (arr_0
  // through the network); "" when no metric needed them.
  std::string reference_statistics;
  std::string reference_features;
};

// Throws DataError naming the metric when a name is not one of kEvaluationMetrics, or the list is
// empty.
void check_metric_names(const std::vector<std::string>& metrics, const std::string& where);

// samples: arr_0 of a sample batch. Throws DataError when the samples are not uint8 [N, H, W, 3],
// when a metric needs reference images that `ref` lacks, when statistics differ in dimension from
// the network's features, or when precision/recall gets fewer than k + 1 = 4 rows.
Evaluation evaluate(FeatureNetwork& net, const NpyArray& samples, const ReferenceBatch& ref,
                    const EvaluationOptions& options = {});

// What evaluator.py prints ("Inception Score: 9.1", "FID: 2.5", "sFID: ...", "Precision: ...",
// "Recall: ..."), in its order, for the values present; numbers in Python's repr (shortest
// round-trip).
std::string format_like_evaluator(const Evaluation& e);

}  // namespace repro::metrics
