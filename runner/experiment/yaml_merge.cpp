#include "runner/experiment/yaml_merge.h"

namespace repro::runner {

namespace {
YAML::Node fresh_copy(const YAML::Node& n) {
  if (!n.IsMap()) return n;
  YAML::Node out(YAML::NodeType::Map);
  for (const auto& kv : n) out[kv.first.Scalar()] = fresh_copy(kv.second);
  return out;
}
}  // namespace

YAML::Node merged(const YAML::Node& base, const YAML::Node& over) {
  // An absent or null side is an empty mapping: the result is always a fresh node of its own.
  if ((!over || over.IsNull()) && (!base || base.IsNull())) return YAML::Node(YAML::NodeType::Map);
  if (!over || over.IsNull()) return fresh_copy(base);
  if (!base || base.IsNull() || !base.IsMap() || !over.IsMap()) return fresh_copy(over);
  YAML::Node out = fresh_copy(base);
  for (const auto& kv : over) {
    const std::string key = kv.first.Scalar();
    out[key] = out[key] ? merged(out[key], kv.second) : fresh_copy(kv.second);
  }
  return out;
}

}  // namespace repro::runner
