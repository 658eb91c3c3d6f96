#include "reports/json_text.h"

#include "reports/observations.h"

namespace repro::reports {
namespace {

template <class Json>
std::string scalar_text_of(const Json& v, const std::string& null_text) {
  if (v.is_null()) return null_text;
  if (v.is_string()) return v.template get<std::string>();
  if (v.is_number_float()) return format_number(v.template get<double>());
  return dump_json(v);  // integers, booleans, arrays, objects
}

void flatten(const nlohmann::json& v, const std::string& path, std::map<std::string, nlohmann::json>& out) {
  if (v.is_object() && !v.empty()) {
    for (const auto& [k, child] : v.items()) flatten(child, path.empty() ? k : path + "." + k, out);
    return;
  }
  out[path] = v;
}

}  // namespace

std::string scalar_text(const nlohmann::json& v, const std::string& null_text) { return scalar_text_of(v, null_text); }

std::string scalar_text(const nlohmann::ordered_json& v, const std::string& null_text) {
  return scalar_text_of(v, null_text);
}

std::string dump_json(const nlohmann::json& j, int indent) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string dump_json(const nlohmann::ordered_json& j, int indent) {
  return j.dump(indent, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

std::map<std::string, nlohmann::json> flatten_config(const nlohmann::json& config) {
  std::map<std::string, nlohmann::json> out;
  flatten(config, "", out);
  return out;
}

}  // namespace repro::reports
