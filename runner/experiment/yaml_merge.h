#pragma once
// A run's config as the experiment matrix composes it: a light, immutable copy of the file's YAML
// that keeps every value's source mark (line, column) for error messages, deep-merged without
// yaml-cpp. Mappings merge key by key, anything else (scalars, lists) is replaced by the later
// value. Merging shares every unchanged subtree, so a run costs a few small nodes, not a tree.
// (yaml-cpp trees that share nodes merge their memory pools, and a pool shared by every run of a
// matrix made expansion quadratic in the runs.)
#include <yaml-cpp/yaml.h>

#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace repro {
class ConfigError;
}

namespace repro::runner {

struct ConfigNode;
using ConfigTree = std::shared_ptr<const ConfigNode>;

struct ConfigNode {
  YAML::NodeType::value type = YAML::NodeType::Null;  // Null, Scalar, Sequence or Map
  std::string scalar;
  std::vector<std::pair<std::string, ConfigTree>> map;  // in the file's order
  std::vector<YAML::Mark> key_marks;                    // of map's keys
  std::vector<ConfigTree> seq;
  YAML::Mark mark = YAML::Mark::null_mark();  // where the value is in its file (null: made here)
  YAML::EmitterStyle::value style = YAML::EmitterStyle::Default;

  // The value under key (nullptr when absent or not a mapping).
  const ConfigTree* find(const std::string& key) const;
};

// A copy of a YAML tree with its marks (an undefined node gives an empty mapping).
ConfigTree to_tree(const YAML::Node& node);
// Fresh yaml-cpp nodes of their own (no marks, no pool shared with anything), for the strict readers.
YAML::Node to_yaml(const ConfigTree& tree);
// `over` merged onto `base` (an absent or null side is an empty mapping).
ConfigTree merged(const ConfigTree& base, const ConfigTree& over);
// The tree with keys (a path) set to value, replacing what was there; missing or non-mapping
// parents become mappings (as config::apply_override does to a YAML tree).
ConfigTree with_value(const ConfigTree& root, const std::vector<std::string>& keys, const ConfigTree& value);
// The tree without the top-level key.
ConfigTree without(const ConfigTree& root, const std::string& key);
// Emits the tree: mappings in block style, sequences as the file wrote them.
void emit(YAML::Emitter& out, const ConfigTree& tree);

// How YAML::Emitter writes scalars, learnt from it once per distinct text and place, for
// emitted(): writing a scalar costs yaml-cpp's emitter a dozen regular expressions. Not thread-safe.
class ScalarTexts {
 public:
  enum class Place { kKey, kValue, kBlockItem, kFlowItem };  // of a block mapping; of a block or flow sequence
  // The scalar as the emitter writes it there, or nullptr where that is not one line of its own.
  const std::string* text(const std::string& scalar, Place place);

 private:
  std::unordered_map<std::string, std::optional<std::string>> texts_[4];
};

// The text emit() writes for the tree (YAML::Emitter's c_str()). Made without yaml-cpp's emitter
// for a mapping of non-empty mappings, scalars, nulls and non-empty lists of scalars (what a
// training file holds); any other tree goes through emit().
std::string emitted(const ConfigTree& tree, ScalarTexts& texts);

// A ConfigError a strict reader threw for to_yaml(root) (whose nodes carry no marks), read as
// `where`: the same error located at the file line of its key path's value in root (of the key,
// for unknown keys; of the nearest enclosing mapping when the key is absent).
ConfigError relocated(const ConfigError& e, const ConfigTree& root, const std::string& where);

}  // namespace repro::runner
