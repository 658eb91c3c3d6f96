#include "runner/experiment/eval_spec.h"

#include <algorithm>
#include <cstdlib>
#include <set>

#include "base/util/errors.h"
#include "config/strict_yaml.h"

namespace repro::runner {

void EvalSpec::validate(const std::string& where) const {
  for (auto k : at_iterations)
    if (k <= 0) throw ConfigError(where, "eval.at_iterations", "expected steps > 0, got " + std::to_string(k));
  for (auto s : sampling_steps)
    if (s <= 0) throw ConfigError(where, "eval.sampling_steps", "expected step counts > 0, got " + std::to_string(s));
  if (sampler != "ancestral" && sampler != "ddim")
    throw ConfigError(where, "eval.sampler", "expected ancestral or ddim, got '" + sampler + "'");
  if (eta.empty()) throw ConfigError(where, "eval.eta", "expected at least one value");
  for (double e : eta)
    if (e < 0) throw ConfigError(where, "eval.eta", "expected >= 0, got " + std::to_string(e));
  if (ema != "model") {
    char* end = nullptr;
    const double rate = std::strtod(ema.c_str(), &end);
    if (ema.empty() || *end != '\0' || !(rate > 0 && rate < 1))
      throw ConfigError(where, "eval.ema",
                        "expected an EMA rate in (0, 1) such as \"0.9999\", or \"model\"; got '" + ema + "'");
  }
  if (precision != "auto" && precision != "fp32" && precision != "fp16" && precision != "bf16")
    throw ConfigError(where, "eval.precision", "expected auto, fp32, fp16 or bf16, got '" + precision + "'");
  if (to_uint8 != "truncate" && to_uint8 != "round")
    throw ConfigError(
        where, "eval.to_uint8",
        "expected truncate (ADM's sample.py) or round (torchvision's save_image), got '" + to_uint8 + "'");
  if (num_samples <= 0)
    throw ConfigError(where, "eval.num_samples", "expected > 0, got " + std::to_string(num_samples));
  if (batch_size <= 0) throw ConfigError(where, "eval.batch_size", "expected > 0, got " + std::to_string(batch_size));
  static const std::set<std::string> kMetrics = {"fid", "sfid", "is", "pr"};
  if (metrics.empty()) throw ConfigError(where, "eval.metrics", "expected at least one of fid, sfid, is, pr");
  for (const auto& m : metrics)
    if (!kMetrics.count(m)) throw ConfigError(where, "eval.metrics", "expected fid, sfid, is or pr, got '" + m + "'");
  if (features != "inception" && features != "random-inception")
    throw ConfigError(where, "eval.features", "expected inception or random-inception, got '" + features + "'");
  const bool needs_reference =
      std::any_of(metrics.begin(), metrics.end(), [](const std::string& m) { return m != "is"; });
  if (needs_reference && reference.empty())
    throw ConfigError(where, "eval.reference", "missing: the reference batch .npz that fid/sfid/pr compare with");
}

nlohmann::json to_json(const EvalSpec& e) {
  return {{"at_iterations", e.at_iterations},
          {"sampling_steps", e.sampling_steps},
          {"sampler", e.sampler},
          {"eta", e.eta},
          {"num_samples", e.num_samples},
          {"ema", e.ema},
          {"batch_size", e.batch_size},
          {"clip_denoised", e.clip_denoised},
          {"precision", e.precision},
          {"to_uint8", e.to_uint8},
          {"reference", e.reference},
          {"metrics", e.metrics},
          {"features", e.features}};
}

EvalSpec read_eval_spec(const YAML::Node& node, const std::string& file) {
  config::StrictMap m(node, file, "eval");
  EvalSpec e;
  std::vector<int> at;
  m.get("at_iterations", at);
  e.at_iterations.assign(at.begin(), at.end());
  m.get("sampling_steps", e.sampling_steps);
  m.get("sampler", e.sampler);
  m.get("eta", e.eta);
  m.get("num_samples", e.num_samples);
  m.get("ema", e.ema);
  m.get("batch_size", e.batch_size);
  m.get("clip_denoised", e.clip_denoised);
  m.get("precision", e.precision);
  m.get("to_uint8", e.to_uint8);
  m.get("reference", e.reference);
  YAML::Node metrics = m.raw("metrics");
  if (metrics) {
    if (!metrics.IsSequence()) m.fail("metrics", "expected a list such as [fid, sfid]");
    e.metrics.clear();
    for (const auto& x : metrics) e.metrics.push_back(x.Scalar());
  }
  m.get("features", e.features);
  m.finish();
  // A set, not a sequence: the same metrics in another order are the same evaluation (and id).
  std::sort(e.metrics.begin(), e.metrics.end());
  e.metrics.erase(std::unique(e.metrics.begin(), e.metrics.end()), e.metrics.end());
  try {
    e.validate();
  } catch (const ConfigError& err) {
    const std::string key = err.key_path().substr(err.key_path().find('.') + 1);
    m.fail(key, err.detail());
  }
  return e;
}

}  // namespace repro::runner
