#include "reports/observations.h"

#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <utility>

#include "base/diffusion/eps_scale.h"
#include "reports/json_text.h"
#include "reports/report_spec.h"
#include "store/report_queries.h"

namespace repro::reports {
namespace {

using json = nlohmann::json;

std::optional<double> as_number(const std::string& s) {
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (*end != '\0' || !std::isfinite(v)) return std::nullopt;
  return v;
}

json parse_or_empty(const std::string& text) {
  if (text.empty()) return json::object();
  json j = json::parse(text, nullptr, false);
  return j.is_discarded() || !j.is_object() ? json::object() : j;
}

// The eval task's data_subset ({"reference", "train"}, tasks/eval_task.cpp) as one text.
std::string data_subset_text(const json& recipe) {
  if (!recipe.contains("data_subset") || !recipe["data_subset"].is_object()) return "";
  std::string text;
  for (const auto& [key, label] :
       {std::pair<const char*, const char*>{"reference", "reference batch"}, {"train", "training data"}}) {
    const json& part = recipe["data_subset"].value(key, json());
    if (part.is_string()) text += (text.empty() ? "" : "; ") + std::string(label) + ": " + part.get<std::string>();
  }
  return text;
}

// eps_scale and start_t from a sample spec (runner/plan/task_spec.h) whenever there is one:
// "1" when unscaled (or written before Epsilon Scaling), start_t "0" for a chain from noise, so
// that default tables keep those results beside the scaled and data-started ones. An axis of the
// same name wins.
void add_chain_dimensions(const json& sample, std::map<std::string, std::string>& dims) {
  if (sample.empty()) return;
  core::EpsScale lambda;
  if (const auto b = sample.find("eps_scale_b"); b != sample.end() && b->is_number()) lambda.b = b->get<double>();
  if (const auto k = sample.find("eps_scale_k"); k != sample.end() && k->is_number()) lambda.k = k->get<double>();
  if (!dims.count("eps_scale")) dims["eps_scale"] = core::eps_scale_text(lambda);
  if (!dims.count("start_t")) dims["start_t"] = sample.contains("start_t") ? scalar_text(sample["start_t"]) : "0";
}

}  // namespace

std::string format_number(double v) {
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    std::ostringstream s;
    s << static_cast<long long>(v);
    return s.str();
  }
  // Shortest text that reads back to v.
  for (int precision = 1; precision <= 17; ++precision) {
    std::ostringstream s;
    s.precision(precision);
    s << v;
    if (std::strtod(s.str().c_str(), nullptr) == v) return s.str();
  }
  std::ostringstream s;
  s.precision(17);
  s << v;
  return s.str();
}

bool dim_equal(const std::string& a, const std::string& b) {
  if (a == b) return true;
  auto x = as_number(a), y = as_number(b);
  return x && y && *x == *y;
}

bool dim_less(const std::string& a, const std::string& b) {
  auto x = as_number(a), y = as_number(b);
  if (x && y) return *x < *y;
  if (x || y) return static_cast<bool>(x);
  return a < b;
}

std::vector<Observation> collect_observations(runner::Store& store, const std::string& experiment) {
  std::vector<Observation> out;
  for (auto& r : runner::results_of_experiment(store, experiment)) {
    Observation o;
    const json axes = parse_or_empty(r.axes);
    o.position = r.position;
    o.stale = r.stale;
    o.run_id = std::move(r.run_id);
    o.result_id = std::move(r.result_id);
    o.eval_task = std::move(r.eval_task);
    o.metric = std::move(r.metric);
    o.value = r.value;
    const json recipe = parse_or_empty(r.recipe);
    o.sample_task = std::move(r.sample_task);
    const json sample = parse_or_empty(r.sample_spec);
    for (const auto& [axis, label] : axes.items()) {
      if (axis == "seed")
        o.seed = scalar_text(label);
      else
        o.dims[axis] = scalar_text(label);
    }
    for (const auto& [dim, key] : {std::pair<const char*, const char*>{"iteration", "checkpoint_step"},
                                   {"steps", "steps"},
                                   {"sampler", "sampler"},
                                   {"eta", "eta"},
                                   {"ema", "ema"},
                                   {"num_samples", "num_samples"}})
      if (sample.contains(key) && !o.dims.count(dim)) o.dims[dim] = scalar_text(sample[key]);
    add_chain_dimensions(sample, o.dims);
    if (!o.dims.count(kSourceDimension)) o.dims[kSourceDimension] = source_value(r.released);
    if (o.seed.empty() && sample.contains("seed")) o.seed = scalar_text(sample["seed"]);
    if (sample.contains("num_samples") && sample["num_samples"].is_number())
      o.num_samples = sample["num_samples"].get<int64_t>();
    if (recipe.contains("num_reference") && recipe["num_reference"].is_number_integer())
      o.num_reference = recipe["num_reference"].get<int64_t>();
    if (recipe.contains("comparable_with_published") && recipe["comparable_with_published"].is_boolean())
      o.comparable = recipe["comparable_with_published"].get<bool>();
    o.data_subset = data_subset_text(recipe);
    out.push_back(std::move(o));
  }
  return out;
}

RunConfigs run_configs(runner::Store& store, const std::string& experiment) {
  RunConfigs out;
  for (const auto& r : runner::report_runs(store, experiment)) {
    RunConfig c;
    json config = json::parse(r.config, nullptr, false);
    if (config.is_object() && config.contains("train") && config["train"].is_object() &&
        config["train"].contains("seed")) {
      config["train"].erase("seed");
      c.without_seed = std::move(config);
    }
    c.created = r.created;
    c.position = r.position;
    c.stale = r.stale;
    out[r.run_id] = std::move(c);
  }
  return out;
}

}  // namespace repro::reports
