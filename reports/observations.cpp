#include "reports/observations.h"

#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <utility>

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

std::string scalar_text(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer() || v.is_number_unsigned()) return v.dump();
  if (v.is_number_float()) return format_number(v.get<double>());
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  return v.dump();
}

json parse_or_empty(const std::string& text) {
  if (text.empty()) return json::object();
  json j = json::parse(text, nullptr, false);
  return j.is_discarded() || !j.is_object() ? json::object() : j;
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
    if (o.seed.empty() && sample.contains("seed")) o.seed = scalar_text(sample["seed"]);
    if (sample.contains("num_samples") && sample["num_samples"].is_number())
      o.num_samples = sample["num_samples"].get<int64_t>();
    if (recipe.contains("comparable_with_published") && recipe["comparable_with_published"].is_boolean())
      o.comparable = recipe["comparable_with_published"].get<bool>();
    out.push_back(std::move(o));
  }
  return out;
}

}  // namespace repro::reports
