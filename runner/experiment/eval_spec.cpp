#include "runner/experiment/eval_spec.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <set>

#include "base/util/errors.h"
#include "config/strict_yaml.h"

namespace repro::runner {

namespace {

// Finite, lambda_0 > 0 (the chain lengths are the expansion's to check: validate_eps_scale there),
// no entry twice (two identical evaluations are a mistake, as an axis value that changes nothing).
void validate_eps_scales(const EvalSpec& e, const std::string& where) {
  if (e.eps_scale.empty()) throw ConfigError(where, "eval.eps_scale", "expected at least one {b: ..., k: ...}");
  for (size_t i = 0; i < e.eps_scale.size(); ++i) {
    const core::EpsScale& s = e.eps_scale[i];
    if (!std::isfinite(s.b) || !std::isfinite(s.k))
      throw ConfigError(where, "eval.eps_scale", "expected finite b and k, got " + core::eps_scale_text(s));
    if (!(s.b > 0))
      throw ConfigError(where, "eval.eps_scale",
                        "expected b > 0 (lambda at i = 0; 1 = no scaling), got " + core::eps_scale_text(s));
    for (size_t j = 0; j < i; ++j)
      if (e.eps_scale[j] == e.eps_scale[i])
        throw ConfigError(where, "eval.eps_scale", core::eps_scale_text(e.eps_scale[i]) + " is listed twice");
  }
}

// from data: the paper's ancestral chain over the full process (paper-spec §1 Table 1), one
// evaluation per distinct K >= 1 (K <= diffusion_steps is the expansion's to check).
void validate_start(const EvalSpec& e, const std::string& where) {
  const EvalStart& s = e.start;
  if (s.from != "noise" && s.from != "data")
    throw ConfigError(where, "eval.start.from", "expected noise or data, got '" + s.from + "'");
  if (s.from == "noise") {
    if (!s.t.empty() || !s.data.empty())
      throw ConfigError(where, s.t.empty() ? "eval.start.data" : "eval.start.t",
                        "only with from: data (the chain starts from noise)");
    return;
  }
  if (s.t.empty()) throw ConfigError(where, "eval.start.t", "missing: from data needs the chain lengths K");
  for (size_t i = 0; i < s.t.size(); ++i) {
    if (s.t[i] < 1) throw ConfigError(where, "eval.start.t", "expected K >= 1, got " + std::to_string(s.t[i]));
    for (size_t j = 0; j < i; ++j)
      if (s.t[j] == s.t[i]) throw ConfigError(where, "eval.start.t", std::to_string(s.t[i]) + " is listed twice");
  }
  if (e.sampler != "ancestral")
    throw ConfigError(where, "eval.start",
                      "from data runs the ancestral chain over the full process (the paper's Table 1); eval.sampler "
                      "is '" +
                          e.sampler + "'");
  if (e.sampling_steps.size() > 1)
    throw ConfigError(where, "eval.sampling_steps",
                      "with eval.start from data the chain runs on the full process: leave sampling_steps out or "
                      "give only diffusion_steps");
  if (s.data.empty() && e.reference.empty())
    throw ConfigError(where, "eval.start.data", "missing: the x0 images (default eval.reference, which is not set)");
}

void validate_exposure(const EvalSpec& e, const std::string& where) {
  const ExposureRequest& x = e.exposure;
  if (x.num < 0) throw ConfigError(where, "eval.exposure.num", "expected > 0, got " + std::to_string(x.num));
  if (x.mode != "chain" && x.mode != "step")
    throw ConfigError(where, "eval.exposure.mode", "expected chain or step, got '" + x.mode + "'");
  if (x.num == 0 && (x.mode != "chain" || !x.data.empty()))
    throw ConfigError(where, "eval.exposure.num", "missing: the number of images to measure on (> 0)");
  if (x.num > 0 && x.data.empty() && e.reference.empty())
    throw ConfigError(where, "eval.exposure.data", "missing: the x0 images (default eval.reference, which is not set)");
}

// eval.eps_scale: {b: B, k: K} (k optional) or a list of them.
std::vector<core::EpsScale> read_eps_scales(config::StrictMap& m) {
  const YAML::Node node = m.raw("eps_scale");
  if (!node) return {core::EpsScale{}};
  const char* const expected = "expected {b: 1.017, k: 0} (k optional) or a list of them";
  if (!node.IsMap() && !node.IsSequence()) m.fail("eps_scale", expected);
  std::vector<core::EpsScale> out;
  auto read_one = [&](const YAML::Node& n, const std::string& path) {
    if (!n.IsMap()) throw ConfigError(m.where("eps_scale"), path, expected);
    config::StrictMap em(n, m.file(), path);
    core::EpsScale s;
    if (!em.has("b")) em.fail("b", "missing: lambda at i = 0 (1 = no scaling)");
    em.get("b", s.b);
    em.get("k", s.k);
    em.finish();
    out.push_back(s);
  };
  if (node.IsMap()) {
    read_one(node, m.key_path("eps_scale"));
  } else {
    for (size_t i = 0; i < node.size(); ++i) read_one(node[i], m.key_path("eps_scale") + "[" + std::to_string(i) + "]");
  }
  return out;
}

// eval.start: {from: noise | data, t: K or [K, ...], data: PATH}.
EvalStart read_start(config::StrictMap& m) {
  EvalStart s;
  config::StrictMap sm = m.child("start");
  sm.get("from", s.from);
  sm.get("t", s.t);
  sm.get("data", s.data);
  sm.finish();
  return s;
}

// eval.exposure: {num: N, mode: chain | step, data: PATH}.
ExposureRequest read_exposure(config::StrictMap& m) {
  ExposureRequest x;
  const bool given = m.has("exposure");
  config::StrictMap xm = m.child("exposure");
  if (!given) return x;
  if (!xm.has("num")) xm.fail("num", "missing: the number of images to measure on (> 0)");
  xm.get("num", x.num);
  if (x.num <= 0) xm.fail("num", "expected > 0, got " + std::to_string(x.num));
  xm.get("mode", x.mode);
  xm.get("data", x.data);
  xm.finish();
  return x;
}

}  // namespace

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
  validate_eps_scales(*this, where);
  validate_start(*this, where);
  validate_exposure(*this, where);
}

nlohmann::json to_json(const EvalSpec& e) {
  nlohmann::json j = {{"at_iterations", e.at_iterations},
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
  // Written only where they differ from the defaults, so the texts of sections without them stay
  // what they were.
  if (e.eps_scale.size() != 1 || !e.eps_scale[0].is_identity()) {
    j["eps_scale"] = nlohmann::json::array();
    for (const auto& s : e.eps_scale) j["eps_scale"].push_back({{"b", s.b}, {"k", s.k}});
  }
  if (e.start.from != "noise") j["start"] = {{"from", e.start.from}, {"t", e.start.t}, {"data", e.start.data}};
  if (e.exposure.num > 0)
    j["exposure"] = {{"num", e.exposure.num}, {"mode", e.exposure.mode}, {"data", e.exposure.data}};
  return j;
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
  e.eps_scale = read_eps_scales(m);
  e.start = read_start(m);
  e.exposure = read_exposure(m);
  m.finish();
  // A set, not a sequence: the same metrics in another order are the same evaluation (and id).
  std::sort(e.metrics.begin(), e.metrics.end());
  e.metrics.erase(std::unique(e.metrics.begin(), e.metrics.end()), e.metrics.end());
  try {
    e.validate();
  } catch (const ConfigError& err) {
    // At the line of the top key under eval: ("start" for eval.start.t).
    const std::string key = err.key_path().substr(err.key_path().find('.') + 1);
    throw ConfigError(m.where(key.substr(0, key.find('.'))), err.key_path(), err.detail());
  }
  return e;
}

}  // namespace repro::runner
