#pragma once
// A strict reader of YAML mappings into plain structs: every key must be known, every value of
// the right type; errors name the file, line, key path, what was expected and what was found.
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace repro::config {

// Parses a YAML file or string; throws ConfigError (file, line) on syntax errors, and on a
// document that check_yaml_bounds refuses (every reader's input comes through here).
YAML::Node load_yaml_file(const std::string& path);
YAML::Node load_yaml_string(const std::string& text, const std::string& name);

// Refuses a document that the recursive readers could not walk safely: yaml-cpp resolves an alias
// to the anchored node itself, so `a: &x [*x]` is a cycle and a few lines of nested aliases (a
// "billion laughs") expand to 10^9 nodes. Walks the document as a reader sees it (every alias
// expanded) and throws ConfigError "<name>:<line>: ..." when a node contains an alias to itself,
// nests deeper than resource_limits().max_nesting, or the expansion passes max_yaml_nodes.
void check_yaml_bounds(const YAML::Node& root, const std::string& name);

class StrictMap {
 public:
  // node must be a mapping (or null = empty); `path` is its key path ("" at the top).
  StrictMap(const YAML::Node& node, std::string file, std::string path);
  // A mapping given by its entries (key, value) in order, keys distinct: one that is not a yaml-cpp
  // mapping (runner/experiment/expand.cpp reads its light trees' sections so, each value a yaml-cpp
  // node of its own). Its errors give no line for the mapping or a key ("file:?").
  StrictMap(std::vector<std::pair<std::string, YAML::Node>> entries, std::string file, std::string path);

  // Reads `key` into `out` when present; leaves `out` (the default) otherwise.
  void get(const std::string& key, int& out);
  void get(const std::string& key, int64_t& out);
  void get(const std::string& key, uint64_t& out);
  void get(const std::string& key, double& out);
  void get(const std::string& key, bool& out);
  void get(const std::string& key, std::string& out);
  void get(const std::string& key, std::vector<int>& out);     // list or "16,8"
  void get(const std::string& key, std::vector<double>& out);  // list or "1,2,2,2"
  // The sub-mapping under key (an empty one when absent).
  StrictMap child(const std::string& key);
  // The node under key as it is (undefined when absent), for callers that read it themselves.
  YAML::Node raw(const std::string& key) { return value(key); }
  const std::string& file() const { return file_; }
  bool has(const std::string& key) const;

  // Throws ConfigError for the first key that no get/child asked for, listing the valid keys.
  void finish() const;

  std::string key_path(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }
  // "file:line" of key's value (or of the mapping when absent; "file:?" when unknown).
  std::string where(const std::string& key) const;
  [[noreturn]] void fail(const std::string& key, const std::string& what) const;

 private:
  YAML::Node value(const std::string& key);
  const YAML::Node* lookup(const std::string& key);      // value() without making an undefined node
  const YAML::Node* find(const std::string& key) const;  // nullptr when absent

  YAML::Node node_;  // undefined when made from entries
  // node_'s entries with a scalar key, in order: yaml-cpp's lookup by key converts every key it
  // passes to a string (and makes a node for a missing one); a reader asks for every key it knows.
  std::vector<std::pair<std::string, YAML::Node>> entries_;
  bool from_entries_ = false;
  std::string file_;
  std::string path_;
  std::set<std::string> known_;
};

}  // namespace repro::config
