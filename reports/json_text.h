#pragma once
// JSON values as text, one way for the reports, the inspect commands (show, results, diff) and
// the MLflow export.
#include <map>
#include <nlohmann/json.hpp>
#include <string>

namespace repro::reports {

// A JSON scalar as text: strings as they are, integers as written, other numbers in their
// shortest form (format_number), booleans true/false, null as `null_text`; arrays and objects as
// compact JSON (dump_json).
std::string scalar_text(const nlohmann::json& v, const std::string& null_text = "null");
std::string scalar_text(const nlohmann::ordered_json& v, const std::string& null_text = "null");

// j.dump(indent), with bytes that are not UTF-8 (older stores, file names) written as U+FFFD
// instead of failing the dump (nlohmann's type_error 316).
std::string dump_json(const nlohmann::json& j, int indent = -1);
std::string dump_json(const nlohmann::ordered_json& j, int indent = -1);

// The leaves of a config by dotted key path ("train.lr"); arrays and empty objects are leaves. A
// config that is not an object, or an empty one, is one leaf at "".
std::map<std::string, nlohmann::json> flatten_config(const nlohmann::json& config);

}  // namespace repro::reports
