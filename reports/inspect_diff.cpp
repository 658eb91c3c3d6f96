// repro diff: two runs' config difference (flattened key paths) and metric difference (at the
// sampling settings both were evaluated at).
#include <cstdio>
#include <map>
#include <sstream>

#include "reports/inspect.h"
#include "store/inspect_queries.h"

namespace repro::reports {
namespace {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

std::map<std::string, json> flat_config(runner::Store& store, const std::string& run_id) {
  const auto run = runner::run_record(store, run_id);
  if (!run) return {};
  std::map<std::string, json> out = flatten_config(json::parse(run->config, nullptr, false));
  // A config that is not an object: one leaf named for the text view.
  if (const auto root = out.find(""); root != out.end()) {
    out["(config)"] = root->second;
    out.erase(root);
  }
  return out;
}

std::string leaf_text(const json& v) { return scalar_text(v, ""); }

ojson config_difference(const std::map<std::string, json>& a, const std::map<std::string, json>& b) {
  ojson out = ojson::array();
  auto ia = a.begin();
  auto ib = b.begin();
  while (ia != a.end() || ib != b.end()) {
    if (ib == b.end() || (ia != a.end() && ia->first < ib->first)) {
      out.push_back({{"key", ia->first}, {"status", "removed"}, {"a", ia->second}, {"b", nullptr}});
      ++ia;
    } else if (ia == a.end() || ib->first < ia->first) {
      out.push_back({{"key", ib->first}, {"status", "added"}, {"a", nullptr}, {"b", ib->second}});
      ++ib;
    } else {
      // Text equality, so that 0 and 0.0 do not differ.
      if (leaf_text(ia->second) != leaf_text(ib->second))
        out.push_back({{"key", ia->first}, {"status", "changed"}, {"a", ia->second}, {"b", ib->second}});
      ++ia;
      ++ib;
    }
  }
  return out;
}

// "iteration=1000 steps=100 ...": the settings a result was measured at, as text.
std::string settings_text(const std::string& sample_spec) {
  const auto values = setting_values(sample_spec);
  std::string out;
  for (size_t i = 0; i < values.size(); ++i)
    if (!values[i].is_null() && !at_neutral_value(sampling_settings()[i].first, values[i]))
      out += (out.empty() ? "" : " ") + sampling_settings()[i].first + "=" + scalar_text(values[i], "");
  return out.empty() ? "(unknown settings)" : out;
}

ojson settings_object(const std::string& sample_spec) {
  ojson out = ojson::object();
  const auto values = setting_values(sample_spec);
  for (size_t i = 0; i < values.size(); ++i)
    if (!at_neutral_value(sampling_settings()[i].first, values[i])) out[sampling_settings()[i].first] = values[i];
  return out;
}

struct Keyed {
  std::string settings;
  const runner::SettingResult* result;
};

std::multimap<std::string, Keyed> by_setting_and_metric(const std::vector<runner::SettingResult>& results) {
  std::multimap<std::string, Keyed> out;
  for (const auto& r : results) {
    const std::string s = settings_text(r.sample_spec);
    out.insert({s + "\n" + r.metric, {s, &r}});
  }
  return out;
}

// Settings (as text) that `mine` has results at and `theirs` has none at, in order.
ojson settings_only_in(const std::vector<runner::SettingResult>& mine,
                       const std::vector<runner::SettingResult>& theirs) {
  std::map<std::string, std::string> have;  // text -> spec
  std::map<std::string, bool> other;
  for (const auto& r : theirs) other[settings_text(r.sample_spec)] = true;
  for (const auto& r : mine)
    if (!other.count(settings_text(r.sample_spec))) have.emplace(settings_text(r.sample_spec), r.sample_spec);
  ojson out = ojson::array();
  for (const auto& [text, spec] : have) out.push_back(settings_object(spec));
  return out;
}

ojson metric_difference(const std::vector<runner::SettingResult>& a, const std::vector<runner::SettingResult>& b) {
  const auto in_b = by_setting_and_metric(b);
  ojson out = ojson::array();
  for (const auto& [key, ka] : by_setting_and_metric(a)) {
    const auto range = in_b.equal_range(key);
    if (range.first == range.second) continue;
    // Several results of b at one setting differ in their evaluator recipe: pair equal recipes.
    const runner::SettingResult* rb = range.first->second.result;
    for (auto it = range.first; it != range.second; ++it)
      if (it->second.result->recipe == ka.result->recipe) rb = it->second.result;
    out.push_back({{"settings", settings_object(ka.result->sample_spec)},
                   {"metric", ka.result->metric},
                   {"a", ka.result->value},
                   {"b", rb->value},
                   {"difference", rb->value - ka.result->value},
                   {"same_recipe", rb->recipe == ka.result->recipe}});
  }
  return out;
}

std::string signed_short(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%+.6g", v);
  return buf;
}

std::string settings_line(const ojson& settings) {
  std::string out;
  for (const auto& [k, v] : settings.items())
    if (!v.is_null()) out += (out.empty() ? "" : " ") + k + "=" + scalar_text(v, "");
  return out.empty() ? "(unknown settings)" : out;
}

}  // namespace

ojson diff_runs(runner::Store& store, const std::string& run_a, const std::string& run_b) {
  const auto ra = runner::run_results(store, run_a);
  const auto rb = runner::run_results(store, run_b);
  ojson d = {{"a", run_a}, {"b", run_b}};
  d["config"] = config_difference(flat_config(store, run_a), flat_config(store, run_b));
  d["metrics"] = metric_difference(ra, rb);
  d["only_a"] = settings_only_in(ra, rb);
  d["only_b"] = settings_only_in(rb, ra);
  return d;
}

std::string render_diff(const ojson& d) {
  std::ostringstream o;
  o << "a: run " << d["a"].get<std::string>() << "\nb: run " << d["b"].get<std::string>() << "\n\nconfig";
  o << (d["config"].empty() ? ": identical\n" : " (a -> b)\n");
  for (const auto& c : d["config"]) {
    const std::string key = c["key"].get<std::string>(), status = c["status"].get<std::string>();
    if (status == "added") o << "  + " << key << ": " << leaf_text(json(c["b"])) << "\n";
    if (status == "removed") o << "  - " << key << ": " << leaf_text(json(c["a"])) << "\n";
    if (status == "changed")
      o << "  " << key << ": " << leaf_text(json(c["a"])) << " -> " << leaf_text(json(c["b"])) << "\n";
  }
  o << "\nmetrics" << (d["metrics"].empty() ? ": no results at the same sampling settings\n" : " (a -> b)\n");
  std::string last;
  for (const auto& m : d["metrics"]) {
    const std::string settings = settings_line(m["settings"]);
    if (settings != last) o << "  " << settings << "\n";
    last = settings;
    o << "    " << m["metric"].get<std::string>() << ": " << scalar_text(m["a"], "") << " -> "
      << scalar_text(m["b"], "") << " (" << signed_short(m["difference"].get<double>()) << ")"
      << (m["same_recipe"].get<bool>() ? "" : "  [evaluator recipes differ]") << "\n";
  }
  for (const char* side : {"only_a", "only_b"}) {
    if (d[side].empty()) continue;
    o << "\nresults of " << (side[5] == 'a' ? "a" : "b") << " only, at\n";
    for (const auto& s : d[side]) o << "  " << settings_line(s) << "\n";
  }
  return o.str();
}

}  // namespace repro::reports
