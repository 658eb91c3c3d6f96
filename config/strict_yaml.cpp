#include "config/strict_yaml.h"

#include <yaml-cpp/depthguard.h>

#include <optional>
#include <sstream>

#include "base/util/errors.h"
#include "base/util/limits.h"
#include "base/util/strings.h"
#include "base/util/utf8.h"

namespace repro::config {

namespace {

std::string line_of(const YAML::Node& n) {
  auto m = n.Mark();
  return m.line >= 0 ? std::to_string(m.line + 1) : "?";
}

std::string describe_value(const YAML::Node& n) {
  if (n.IsScalar()) return "'" + n.Scalar() + "'";
  if (n.IsSequence()) return "a list";
  if (n.IsMap()) return "a mapping";
  return "null";
}

// A key as a key path shows it: bytes that are not UTF-8 as '?' (the message must stay printable
// text, and may end up in JSON).
std::string printable_key(const std::string& key) {
  std::string out = key;
  for (size_t bad = invalid_utf8_offset(out); bad != std::string::npos; bad = invalid_utf8_offset(out)) out[bad] = '?';
  return out;
}

// The walk of check_yaml_bounds: every node as a reader meets it (an alias once per use), with
// the containers open above it and its key path ("base.data.path", "matrix.method[1]").
class BoundsWalk {
 public:
  explicit BoundsWalk(const std::string& name) : name_(name), limit_(resource_limits().max_yaml_nodes) {}

  void visit(const YAML::Node& n, const std::string& path) {
    if (++nodes_ > limit_)
      fail(n, "the document expands past the limit of " + std::to_string(limit_) +
                  " nodes once its aliases are expanded (REPRO_MAX_YAML_NODES raises it)");
    if (n.IsScalar() && invalid_utf8_offset(n.Scalar()) != std::string::npos)
      fail(n,
           "text that is not UTF-8 (byte " + std::to_string(invalid_utf8_offset(n.Scalar())) +
               " of a value); YAML files are UTF-8",
           path);
    if (!n.IsSequence() && !n.IsMap()) return;
    // A cycle would also pass the nesting limit; named here, the message says what is wrong.
    for (const auto& open : open_)
      if (open.is(n)) fail(n, "a node contains an alias to itself (an anchor used inside its own value)");
    std::optional<NestingGuard> guard;
    try {
      guard.emplace(depth_, "the document");
    } catch (const DataError& e) {
      fail(n, e.what());
    }
    open_.push_back(n);
    if (n.IsSequence()) {
      size_t i = 0;
      for (const auto& item : n) visit(item, path + "[" + std::to_string(i++) + "]");
    } else {
      for (const auto& kv : n) {
        const std::string key = kv.first.IsScalar() ? printable_key(kv.first.Scalar()) : "?";
        const std::string child = path.empty() ? key : path + "." + key;
        visit(kv.first, child);
        visit(kv.second, child);
      }
    }
    open_.pop_back();
  }

 private:
  [[noreturn]] void fail(const YAML::Node& n, const std::string& what, const std::string& path = "") const {
    throw ConfigError(name_ + ":" + line_of(n), path, what);
  }

  const std::string& name_;
  const uint64_t limit_;
  uint64_t nodes_ = 0;
  int depth_ = 0;
  std::vector<YAML::Node> open_;
};

// yaml-cpp's own parser stops at 500 levels (DeepRecursion, whose text says "bad file").
ConfigError too_deep(const std::string& name, const YAML::DeepRecursion& e) {
  return ConfigError(name + ":" + std::to_string(e.mark.line + 1), "",
                     "the document nests deeper than " + std::to_string(e.depth()) + " levels");
}

}  // namespace

void check_yaml_bounds(const YAML::Node& root, const std::string& name) { BoundsWalk(name).visit(root, ""); }

YAML::Node load_yaml_file(const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    throw IoError("cannot read config file " + path);
  } catch (const YAML::DeepRecursion& e) {
    throw too_deep(path, e);
  } catch (const YAML::ParserException& e) {
    throw ConfigError(path + ":" + std::to_string(e.mark.line + 1), "", "YAML syntax error: " + e.msg);
  }
  check_yaml_bounds(root, path);
  return root;
}

YAML::Node load_yaml_string(const std::string& text, const std::string& name) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::DeepRecursion& e) {
    throw too_deep(name, e);
  } catch (const YAML::ParserException& e) {
    throw ConfigError(name + ":" + std::to_string(e.mark.line + 1), "", "YAML syntax error: " + e.msg);
  }
  check_yaml_bounds(root, name);
  return root;
}

StrictMap::StrictMap(const YAML::Node& node, std::string file, std::string path)
    : node_(node), file_(std::move(file)), path_(std::move(path)) {
  if (node_ && !node_.IsNull() && !node_.IsMap())
    throw ConfigError(file_ + ":" + line_of(node_), path_, "expected a mapping, got " + describe_value(node_));
  if (node_ && node_.IsMap()) {
    entries_.reserve(node_.size());
    for (const auto& kv : node_)
      if (kv.first.IsScalar()) entries_.emplace_back(kv.first.Scalar(), kv.second);
  }
}

StrictMap::StrictMap(std::vector<std::pair<std::string, YAML::Node>> entries, std::string file, std::string path)
    : entries_(std::move(entries)), from_entries_(true), file_(std::move(file)), path_(std::move(path)) {}

// The first entry with this key, as yaml-cpp's lookup finds it.
const YAML::Node* StrictMap::find(const std::string& key) const {
  for (const auto& [k, v] : entries_)
    if (k == key) return &v;
  return nullptr;
}

bool StrictMap::has(const std::string& key) const { return find(key) != nullptr; }

std::string StrictMap::where(const std::string& key) const {
  if (const YAML::Node* v = find(key)) return file_ + ":" + line_of(*v);
  if (from_entries_) return file_ + ":?";
  return node_ ? file_ + ":" + line_of(node_) : file_;
}

void StrictMap::fail(const std::string& key, const std::string& what) const {
  throw ConfigError(where(key), key_path(key), what);
}

const YAML::Node* StrictMap::lookup(const std::string& key) {
  known_.insert(key);
  return find(key);
}

YAML::Node StrictMap::value(const std::string& key) {
  const YAML::Node* v = lookup(key);
  return v ? *v : YAML::Node(YAML::NodeType::Undefined);  // Node() would be a defined null
}

void StrictMap::get(const std::string& key, int& out) {
  const YAML::Node* found = lookup(key);
  if (!found) return;
  const YAML::Node& v = *found;
  try {
    if (!v.IsScalar()) throw YAML::Exception(v.Mark(), "");
    out = v.as<int>();
  } catch (const YAML::Exception&) {
    fail(key, "expected an integer, got " + describe_value(v));
  }
}

void StrictMap::get(const std::string& key, int64_t& out) {
  const YAML::Node* found = lookup(key);
  if (!found) return;
  const YAML::Node& v = *found;
  size_t used = 0;
  try {
    if (!v.IsScalar()) throw std::invalid_argument("");
    out = std::stoll(v.Scalar(), &used, 10);
  } catch (const std::exception&) {
    used = 0;
  }
  if (!v.IsScalar() || used == 0 || used != v.Scalar().size())
    fail(key, "expected an integer, got " + describe_value(v));
}

void StrictMap::get(const std::string& key, uint64_t& out) {
  const YAML::Node* found = lookup(key);
  if (!found) return;
  const YAML::Node& v = *found;
  size_t used = 0;
  const bool negative = v.IsScalar() && v.Scalar().find('-') != std::string::npos;
  try {
    if (!v.IsScalar() || negative) throw std::invalid_argument("");
    out = std::stoull(v.Scalar(), &used, 10);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != v.Scalar().size()) fail(key, "expected a non-negative integer, got " + describe_value(v));
}

void StrictMap::get(const std::string& key, double& out) {
  const YAML::Node* found = lookup(key);
  if (!found) return;
  const YAML::Node& v = *found;
  try {
    if (!v.IsScalar()) throw YAML::Exception(v.Mark(), "");
    out = v.as<double>();
  } catch (const YAML::Exception&) {
    fail(key, "expected a number, got " + describe_value(v));
  }
}

void StrictMap::get(const std::string& key, bool& out) {
  const YAML::Node* found = lookup(key);
  if (!found) return;
  const YAML::Node& v = *found;
  try {
    if (!v.IsScalar()) throw YAML::Exception(v.Mark(), "");
    out = v.as<bool>();
  } catch (const YAML::Exception&) {
    fail(key, "expected true or false, got " + describe_value(v));
  }
}

void StrictMap::get(const std::string& key, std::string& out) {
  const YAML::Node* found = lookup(key);
  if (!found) return;
  const YAML::Node& v = *found;
  if (v.IsNull()) {
    out.clear();
    return;
  }
  if (!v.IsScalar()) fail(key, "expected a string, got " + describe_value(v));
  out = v.Scalar();
}

// One list item in base 10, surrounding spaces allowed ("16, 8"); false if not a whole number.
static bool parse_item(std::string text, int& out) {
  const auto b = text.find_first_not_of(" \t"), e = text.find_last_not_of(" \t");
  if (b == std::string::npos) return false;
  text = text.substr(b, e - b + 1);
  size_t used = 0;
  try {
    out = std::stoi(text, &used, 10);
  } catch (const std::exception&) {
    return false;
  }
  return used == text.size();
}
static bool parse_item(std::string text, double& out) {
  const auto b = text.find_first_not_of(" \t"), e = text.find_last_not_of(" \t");
  if (b == std::string::npos) return false;
  text = text.substr(b, e - b + 1);
  size_t used = 0;
  try {
    out = std::stod(text, &used);
  } catch (const std::exception&) {
    return false;
  }
  return used == text.size();
}

// A YAML list of scalars or one "a,b,c" string (the reference's flag spelling).
template <typename T>
static std::vector<T> parse_list(StrictMap& m, const std::string& key, const YAML::Node& v, const char* kind) {
  std::vector<T> items;
  auto bad = [&]() {
    m.fail(key, std::string("expected a list of ") + kind + " (or \"a,b,c\"), got " + describe_value(v));
  };
  auto add = [&](const std::string& text) {
    T value{};
    if (!parse_item(text, value)) bad();
    items.push_back(value);
  };
  if (v.IsSequence()) {
    for (const auto& e : v) {
      if (!e.IsScalar()) bad();
      add(e.Scalar());
    }
  } else if (v.IsScalar()) {
    std::stringstream ss(v.Scalar());
    std::string item;
    while (std::getline(ss, item, ',')) add(item);
  } else if (!v.IsNull()) {
    bad();
  }
  return items;
}

void StrictMap::get(const std::string& key, std::vector<int>& out) {
  if (const YAML::Node* v = lookup(key)) out = parse_list<int>(*this, key, *v, "integers");
}

void StrictMap::get(const std::string& key, std::vector<double>& out) {
  if (const YAML::Node* v = lookup(key)) out = parse_list<double>(*this, key, *v, "numbers");
}

StrictMap StrictMap::child(const std::string& key) { return StrictMap(value(key), file_, key_path(key)); }

void StrictMap::finish() const {
  auto unknown = [this](const std::string& key, const std::string& line) {
    const std::string valid = join(known_, ", ", [](const std::string& k) { return k; });
    throw ConfigError(file_ + ":" + line, key_path(key), "unknown key; valid keys here: " + valid);
  };
  if (from_entries_) {
    for (const auto& kv : entries_)
      if (!known_.count(kv.first)) unknown(kv.first, "?");
    return;
  }
  if (!node_ || !node_.IsMap()) return;
  for (const auto& kv : node_) {
    // A list or mapping as a key (`? [a]: b`) is no key a reader knows; as<std::string>() would throw.
    if (!kv.first.IsScalar())
      throw ConfigError(file_ + ":" + line_of(kv.first), path_,
                        "expected a scalar key, got " + describe_value(kv.first));
    const std::string key = kv.first.Scalar();
    if (!known_.count(key)) unknown(key, line_of(kv.first));
  }
}

}  // namespace repro::config
