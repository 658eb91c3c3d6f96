#include "runner/plan/task_spec.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <type_traits>

#include "base/train/checkpoint_names.h"
#include "base/util/errors.h"
#include "base/util/sha256.h"

namespace repro::runner {

namespace {

using nlohmann::json;

// Each spec's members in nlohmann's (sorted) key order: the one list that to_json, from_json,
// parse_*_spec and spec_text walk. `S` is the spec, const or not; `f(key, member)`, or
// `f(key, member, omitted)` for a member added later: left out of the text when it equals
// `omitted`, and `omitted` when missing, so that the specs (and ids) of tasks that do not use it
// stay as they were.
template <typename S, typename F>
void sample_members(S& s, F&& f) {
  f("batch_size", s.batch_size);
  f("checkpoint_sha256", s.checkpoint_sha256, "");  // a checkpoint of the run's own training
  f("checkpoint_step", s.checkpoint_step);
  f("clip_denoised", s.clip_denoised);
  f("data", s.data, "");  // no x0 images: a chain from noise
  f("ema", s.ema);
  f("eps_scale_b", s.eps_scale_b, 1.0);  // lambda = 1: no Epsilon Scaling
  f("eps_scale_k", s.eps_scale_k, 0.0);
  f("eta", s.eta);
  f("exposure_mode", s.exposure_mode, "chain");
  f("exposure_num", s.exposure_num, int64_t{0});  // 0: samples, not an exposure measurement
  f("num_samples", s.num_samples);
  f("precision", s.precision, "");  // the model's training precision
  f("sampler", s.sampler);
  f("seed", s.seed);
  f("start_t", s.start_t, 0);  // 0: from noise
  f("steps", s.steps);
  f("to_uint8", s.to_uint8, "truncate");
}

template <typename S, typename F>
void eval_members(S& s, F&& f) {
  f("batch_size", s.batch_size);
  f("features", s.features);
  f("metrics", s.metrics);
  f("reference", s.reference);
  f("samples_of", s.samples_of);
}

// ---- spec_text: each value as nlohmann's dump writes it ----

// Printable ASCII other than '"' and '\\' is dumped as it is; anything else goes through nlohmann
// (escapes, UTF-8 checks).
void append_value(std::string& out, const std::string& v) {
  for (const char c : v)
    if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') {
      out += json(v).dump();
      return;
    }
  out += '"';
  out += v;
  out += '"';
}
void append_value(std::string& out, bool v) { out += v ? "true" : "false"; }
void append_value(std::string& out, double v) { out += json(v).dump(); }
template <typename T, std::enable_if_t<std::is_integral_v<T>, int> = 0>
void append_value(std::string& out, T v) {
  out += std::to_string(v);
}
void append_value(std::string& out, const std::vector<std::string>& v) {
  out += '[';
  for (size_t i = 0; i < v.size(); ++i) {
    if (i > 0) out += ',';
    append_value(out, v[i]);
  }
  out += ']';
}

// {"key":value,...} of members given in sorted key order.
class ObjectText {
 public:
  template <typename T>
  void operator()(const char* key, const T& value) {
    text_ += text_.empty() ? "{\"" : ",\"";
    text_ += key;
    text_ += "\":";
    append_value(text_, value);
  }
  template <typename T, typename O>
  void operator()(const char* key, const T& value, const O& omitted) {
    if (value != omitted) (*this)(key, value);
  }
  std::string close() && {
    text_ += '}';
    text_.shrink_to_fit();  // a plan holds ~100k specs: no spare capacity
    return std::move(text_);
  }

 private:
  std::string text_;
};

// ---- parse_*_spec: each member checked for presence and JSON type ----

[[noreturn]] void mistyped(const std::string& where, const std::string& key, const std::string& expected,
                           const json& got) {
  throw ConfigError(where, "spec." + key, "expected " + expected + ", got " + got.type_name());
}

template <typename T>
bool fits(const json& v) {
  constexpr auto kMax = static_cast<uint64_t>(std::numeric_limits<T>::max());
  if (v.is_number_unsigned()) return v.get<uint64_t>() <= kMax;
  if (!v.is_number_integer()) return false;
  const int64_t x = v.get<int64_t>();
  return x < 0 ? std::is_signed_v<T> && x >= static_cast<int64_t>(std::numeric_limits<T>::min())
               : static_cast<uint64_t>(x) <= kMax;
}

template <typename T, std::enable_if_t<std::is_integral_v<T>, int> = 0>
void read_member(const json& v, T& out, const std::string& where, const std::string& key) {
  if (!fits<T>(v))
    mistyped(where, key,
             "an integer from " + std::to_string(std::numeric_limits<T>::min()) + " to " +
                 std::to_string(std::numeric_limits<T>::max()),
             v);
  out = v.get<T>();
}
void read_member(const json& v, bool& out, const std::string& where, const std::string& key) {
  if (!v.is_boolean()) mistyped(where, key, "true or false", v);
  out = v.get<bool>();
}
void read_member(const json& v, double& out, const std::string& where, const std::string& key) {
  if (!v.is_number()) mistyped(where, key, "a number", v);
  out = v.get<double>();
}
void read_member(const json& v, std::string& out, const std::string& where, const std::string& key) {
  if (!v.is_string()) mistyped(where, key, "a string", v);
  out = v.get<std::string>();
}
void read_member(const json& v, std::vector<std::string>& out, const std::string& where, const std::string& key) {
  if (!v.is_array()) mistyped(where, key, "a list of strings", v);
  out.clear();
  for (const auto& item : v) {
    if (!item.is_string()) mistyped(where, key, "a list of strings", item);
    out.push_back(item.get<std::string>());
  }
}

// Reads spec[key] into a member; ConfigError naming `where` and "spec.<key>".
class MemberReader {
 public:
  MemberReader(const json& spec, const std::string& where) : spec_(spec), where_(where) {
    if (!spec.is_object()) throw ConfigError(where, "spec", std::string("expected an object, got ") + spec.type_name());
  }
  const json& member(const std::string& key) const {
    const auto it = spec_.find(key);
    if (it == spec_.end()) throw ConfigError(where_, "spec." + key, "missing");
    return *it;
  }
  template <typename T>
  void operator()(const char* key, T& out) const {
    read_member(member(key), out, where_, key);
  }
  template <typename T, typename O>
  void operator()(const char* key, T& out, const O& omitted) const {
    const auto it = spec_.find(key);
    if (it == spec_.end()) {
      out = omitted;
    } else {
      read_member(*it, out, where_, key);
    }
  }

 private:
  const json& spec_;
  const std::string& where_;
};

// "model", or a number as checkpoint_file reads the rate back.
bool is_ema_choice(const std::string& ema) {
  if (ema == "model") return true;
  char* end = nullptr;
  std::strtod(ema.c_str(), &end);
  return !ema.empty() && *end == '\0';
}

// The members added with Epsilon Scaling, chains from data and exposure tasks (all optional).
void check_new_members(const SampleTaskSpec& s, const std::string& where) {
  if (!std::isfinite(s.eps_scale_b) || !std::isfinite(s.eps_scale_k) || !(s.eps_scale_b > 0))
    throw ConfigError(where, "spec.eps_scale_b",
                      "expected finite eps_scale_b > 0 and eps_scale_k (lambda_i = b + k i), got b = " +
                          json(s.eps_scale_b).dump() + ", k = " + json(s.eps_scale_k).dump());
  if (s.start_t < 0)
    throw ConfigError(where, "spec.start_t", "expected >= 0 (0: from noise), got " + std::to_string(s.start_t));
  if (s.exposure_num < 0)
    throw ConfigError(where, "spec.exposure_num",
                      "expected >= 0 (0: not an exposure task), got " + std::to_string(s.exposure_num));
  if (s.exposure_mode != "chain" && s.exposure_mode != "step")
    throw ConfigError(where, "spec.exposure_mode", "expected chain or step, got '" + s.exposure_mode + "'");
  if ((s.start_t > 0 || s.exposure_num > 0) && s.data.empty())
    throw ConfigError(where, "spec.data", "missing: start_t and exposure_num read x0 images from data");
  const auto& d = s.checkpoint_sha256;
  if (!d.empty() && !is_sha256_hex(d))
    throw ConfigError(where, "spec.checkpoint_sha256", "expected 64 lowercase hex digits, got '" + d + "'");
}

}  // namespace

// ---- TrainTaskSpec: `identity` is JSON text, embedded as the object it is ----

void to_json(json& j, const TrainTaskSpec& s) {
  j = json::object();
  j["config"] = s.config;
  j["identity"] = json::parse(s.identity);
  j["iterations"] = s.iterations;
  if (s.keep_steps) j["keep_steps"] = *s.keep_steps;
}

void from_json(const json& j, TrainTaskSpec& s) {
  j.at("config").get_to(s.config);
  s.identity = j.at("identity").dump();
  j.at("iterations").get_to(s.iterations);
  s.keep_steps.reset();
  if (j.contains("keep_steps")) s.keep_steps = j.at("keep_steps").get<std::vector<int64_t>>();
}

std::string spec_text(const TrainTaskSpec& s) {
  std::string out = "{\"config\":";
  append_value(out, s.config);
  out += ",\"identity\":";
  out += s.identity;
  out += ",\"iterations\":";
  append_value(out, s.iterations);
  if (s.keep_steps) {
    out += ",\"keep_steps\":[";
    for (size_t i = 0; i < s.keep_steps->size(); ++i) {
      if (i > 0) out += ',';
      append_value(out, (*s.keep_steps)[i]);
    }
    out += ']';
  }
  out += '}';
  out.shrink_to_fit();  // a plan holds a config per run: no spare capacity
  return out;
}

TrainTaskSpec parse_train_spec(const json& spec, const std::string& where) {
  const MemberReader read(spec, where);
  TrainTaskSpec s;
  read("config", s.config);
  const json& identity = read.member("identity");
  if (!identity.is_object()) mistyped(where, "identity", "an object (the run's identity)", identity);
  s.identity = identity.dump();
  read("iterations", s.iterations);
  if (spec.contains("keep_steps")) {  // optional: older specs have none
    const json& steps = read.member("keep_steps");
    if (!steps.is_array()) mistyped(where, "keep_steps", "a list of steps", steps);
    s.keep_steps.emplace();
    for (const auto& k : steps) {
      if (!fits<int64_t>(k) || k.get<int64_t>() < 0) mistyped(where, "keep_steps", "a list of steps >= 0", k);
      s.keep_steps->push_back(k.get<int64_t>());
    }
  }
  return s;
}

// ---- SampleTaskSpec ----

void to_json(json& j, const SampleTaskSpec& s) {
  j = json::object();
  sample_members(s, [&j](const char* key, const auto& value, const auto&... omitted) {
    if (!(false || ... || (value == omitted))) j[key] = value;
  });
}

void from_json(const json& j, SampleTaskSpec& s) {
  sample_members(s, [&j](const char* key, auto& value, const auto&... omitted) {
    if constexpr (sizeof...(omitted) > 0) {
      if (!j.contains(key)) {
        ((value = omitted), ...);
        return;
      }
    }
    j.at(key).get_to(value);
  });
}

std::string spec_text(const SampleTaskSpec& s) {
  ObjectText text;
  sample_members(s, text);
  return std::move(text).close();
}

SampleTaskSpec parse_sample_spec(const json& spec, const std::string& where) {
  SampleTaskSpec s;
  sample_members(s, MemberReader(spec, where));
  if (!is_ema_choice(s.ema))
    throw ConfigError(where, "spec.ema", "expected \"model\" or an EMA rate such as \"0.9999\", got '" + s.ema + "'");
  if (spec.contains("precision") && s.precision != "fp32" && s.precision != "fp16" && s.precision != "bf16")
    throw ConfigError(
        where, "spec.precision",
        "expected fp32, fp16 or bf16 (missing: the model's training precision), got '" + s.precision + "'");
  if (s.to_uint8 != "truncate" && s.to_uint8 != "round")
    throw ConfigError(where, "spec.to_uint8", "expected truncate or round, got '" + s.to_uint8 + "'");
  check_new_members(s, where);
  return s;
}

int64_t sample_forwards(const SampleTaskSpec& s) {
  const int64_t length = s.start_t > 0 ? s.start_t : s.steps;
  if (s.exposure_num > 0) return s.exposure_num * length * (s.exposure_mode == "step" ? 3 : 2);
  return s.num_samples * length;
}

std::string checkpoint_file(const SampleTaskSpec& s) {
  const int64_t k = s.checkpoint_step;
  return "checkpoints/" + (s.ema == "model" ? core::checkpoint_name("model", k) : core::ema_name(std::stod(s.ema), k));
}

// ---- EvalTaskSpec ----

void to_json(json& j, const EvalTaskSpec& s) {
  j = json::object();
  eval_members(s, [&j](const char* key, const auto& value) { j[key] = value; });
}

void from_json(const json& j, EvalTaskSpec& s) {
  eval_members(s, [&j](const char* key, auto& value) { j.at(key).get_to(value); });
}

std::string spec_text(const EvalTaskSpec& s) {
  ObjectText text;
  eval_members(s, text);
  return std::move(text).close();
}

EvalTaskSpec parse_eval_spec(const json& spec, const std::string& where) {
  EvalTaskSpec s;
  eval_members(s, MemberReader(spec, where));
  return s;
}

}  // namespace repro::runner
