#include "runner/experiment/yaml_merge.h"

#include <cstdlib>

#include "base/util/errors.h"
#include "base/util/strings.h"

namespace repro::runner {

namespace {

std::shared_ptr<ConfigNode> empty_map() {
  auto n = std::make_shared<ConfigNode>();
  n->type = YAML::NodeType::Map;
  return n;
}

bool absent(const ConfigTree& t) { return !t || t->type == YAML::NodeType::Null; }

ConfigTree set_path(const ConfigTree& node, const std::vector<std::string>& keys, size_t i, const ConfigTree& value) {
  if (i == keys.size()) return value;
  auto out = std::make_shared<ConfigNode>();
  if (node && node->type == YAML::NodeType::Map)
    *out = *node;
  else
    out->type = YAML::NodeType::Map;
  for (auto& [k, v] : out->map)
    if (k == keys[i]) {
      v = set_path(v, keys, i + 1, value);
      return out;
    }
  out->map.emplace_back(keys[i], set_path(nullptr, keys, i + 1, value));
  out->key_marks.push_back(YAML::Mark::null_mark());
  return out;
}

}  // namespace

const ConfigTree* ConfigNode::find(const std::string& key) const {
  for (const auto& kv : map)
    if (kv.first == key) return &kv.second;
  return nullptr;
}

ConfigTree to_tree(const YAML::Node& node) {
  if (!node) return empty_map();
  auto out = std::make_shared<ConfigNode>();
  out->type = node.Type();
  out->mark = node.Mark();
  out->style = node.Style();
  switch (node.Type()) {
    case YAML::NodeType::Scalar:
      out->scalar = node.Scalar();
      break;
    case YAML::NodeType::Sequence:
      for (const auto& item : node) out->seq.push_back(to_tree(item));
      break;
    case YAML::NodeType::Map:
      for (const auto& kv : node) {
        out->map.emplace_back(kv.first.Scalar(), to_tree(kv.second));
        out->key_marks.push_back(kv.first.Mark());
      }
      break;
    default:
      out->type = YAML::NodeType::Null;
  }
  return out;
}

YAML::Node to_yaml(const ConfigTree& tree) {
  if (!tree) return YAML::Node(YAML::NodeType::Map);
  switch (tree->type) {
    case YAML::NodeType::Scalar:
      return YAML::Node(tree->scalar);
    case YAML::NodeType::Sequence: {
      YAML::Node out(YAML::NodeType::Sequence);
      for (const auto& item : tree->seq) out.push_back(to_yaml(item));
      out.SetStyle(tree->style);
      return out;
    }
    case YAML::NodeType::Map: {
      YAML::Node out(YAML::NodeType::Map);
      for (const auto& [k, v] : tree->map) out[k] = to_yaml(v);
      return out;
    }
    default:
      return YAML::Node(YAML::NodeType::Null);
  }
}

ConfigTree merged(const ConfigTree& base, const ConfigTree& over) {
  if (absent(over) && absent(base)) return empty_map();
  if (absent(over)) return base;
  if (absent(base) || base->type != YAML::NodeType::Map || over->type != YAML::NodeType::Map) return over;
  auto out = std::make_shared<ConfigNode>(*base);
  for (size_t i = 0; i < over->map.size(); ++i) {
    const auto& [key, value] = over->map[i];
    bool found = false;
    for (auto& kv : out->map)
      if (kv.first == key) {
        kv.second = merged(kv.second, value);
        found = true;
        break;
      }
    if (!found) {
      out->map.emplace_back(key, value);
      out->key_marks.push_back(over->key_marks[i]);
    }
  }
  return out;
}

ConfigTree with_value(const ConfigTree& root, const std::vector<std::string>& keys, const ConfigTree& value) {
  return set_path(root, keys, 0, value);
}

ConfigTree without(const ConfigTree& root, const std::string& key) {
  if (!root || root->type != YAML::NodeType::Map || !root->find(key)) return root;
  auto out = empty_map();
  out->mark = root->mark;
  for (size_t i = 0; i < root->map.size(); ++i)
    if (root->map[i].first != key) {
      out->map.push_back(root->map[i]);
      out->key_marks.push_back(root->key_marks[i]);
    }
  return out;
}

void emit(YAML::Emitter& out, const ConfigTree& tree) {
  if (!tree) {
    out << YAML::BeginMap << YAML::EndMap;
    return;
  }
  switch (tree->type) {
    case YAML::NodeType::Scalar:
      out << tree->scalar;
      break;
    case YAML::NodeType::Sequence:
      if (tree->style == YAML::EmitterStyle::Flow)
        out << YAML::Flow;
      else if (tree->style == YAML::EmitterStyle::Block)
        out << YAML::Block;
      out << YAML::BeginSeq;
      for (const auto& item : tree->seq) emit(out, item);
      out << YAML::EndSeq;
      break;
    case YAML::NodeType::Map:
      out << YAML::BeginMap;
      for (const auto& [k, v] : tree->map) {
        out << YAML::Key << k << YAML::Value;
        emit(out, v);
      }
      out << YAML::EndMap;
      break;
    default:
      out << YAML::Null;
  }
}

const std::string* ScalarTexts::text(const std::string& scalar, Place place) {
  auto& texts = texts_[static_cast<int>(place)];
  auto it = texts.find(scalar);
  if (it == texts.end()) {
    YAML::Emitter out;
    std::string before, after;  // what the emitter writes around the scalar
    switch (place) {
      case Place::kKey:
        out << YAML::BeginMap << YAML::Key << scalar << YAML::Value << "v" << YAML::EndMap;
        after = ": v";
        break;
      case Place::kValue:
        out << YAML::BeginMap << YAML::Key << "k" << YAML::Value << scalar << YAML::EndMap;
        before = "k: ";
        break;
      case Place::kBlockItem:
        out << YAML::Block << YAML::BeginSeq << scalar << YAML::EndSeq;
        before = "- ";
        break;
      case Place::kFlowItem:
        out << YAML::Flow << YAML::BeginSeq << scalar << YAML::EndSeq;
        before = "[";
        after = "]";
        break;
    }
    const std::string all = out.good() ? out.c_str() : "";
    std::optional<std::string> text;
    if (all.size() > before.size() + after.size() && starts_with(all, before) && ends_with(all, after)) {
      text = all.substr(before.size(), all.size() - before.size() - after.size());
      if (text->find('\n') != std::string::npos) text.reset();
    }
    it = texts.emplace(scalar, std::move(text)).first;
  }
  return it->second ? &*it->second : nullptr;
}

namespace {

// Appends the entries of a non-empty block mapping at `indent`, one line each (a line break
// before every line but the text's first); false for what emitted() leaves to yaml-cpp.
bool write_block_map(const ConfigNode& map, size_t indent, std::string& out, ScalarTexts& texts) {
  if (map.type != YAML::NodeType::Map || map.map.empty()) return false;
  auto line = [&](size_t spaces) {
    if (!out.empty()) out += '\n';
    out.append(spaces, ' ');
  };
  for (const auto& [k, v] : map.map) {
    const std::string* key = texts.text(k, ScalarTexts::Place::kKey);
    if (!key || !v) return false;
    line(indent);
    out += *key;
    switch (v->type) {
      case YAML::NodeType::Null:
        out += ": ~";
        break;
      case YAML::NodeType::Scalar: {
        const std::string* value = texts.text(v->scalar, ScalarTexts::Place::kValue);
        if (!value) return false;
        out += ": ";
        out += *value;
        break;
      }
      case YAML::NodeType::Map:
        out += ':';
        if (!write_block_map(*v, indent + 2, out, texts)) return false;
        break;
      case YAML::NodeType::Sequence: {
        if (v->seq.empty()) return false;
        const bool flow = v->style == YAML::EmitterStyle::Flow;
        const auto place = flow ? ScalarTexts::Place::kFlowItem : ScalarTexts::Place::kBlockItem;
        out += flow ? ": [" : ":";
        for (size_t i = 0; i < v->seq.size(); ++i) {
          const ConfigTree& item = v->seq[i];
          if (!item || item->type != YAML::NodeType::Scalar) return false;
          const std::string* text = texts.text(item->scalar, place);
          if (!text) return false;
          if (flow) {
            if (i) out += ", ";
          } else {
            line(indent + 2);
            out += "- ";
          }
          out += *text;
        }
        if (flow) out += ']';
        break;
      }
      default:
        return false;
    }
  }
  return true;
}

}  // namespace

std::string emitted(const ConfigTree& tree, ScalarTexts& texts) {
  std::string out;
  if (tree && write_block_map(*tree, 0, out, texts)) return out;
  YAML::Emitter emitter;
  emit(emitter, tree);
  return emitter.c_str();
}

ConfigError relocated(const ConfigError& e, const ConfigTree& root, const std::string& where) {
  const std::string prefix = where + ":";
  if (!starts_with(e.what(), prefix) || !root) return e;
  const bool unknown_key = starts_with(e.detail(), "unknown key");
  const std::string& path = e.key_path();
  const ConfigNode* node = root.get();
  YAML::Mark mark = node->mark;
  size_t start = 0;
  while (!path.empty()) {
    const auto dot = path.find('.', start);
    const std::string segment = path.substr(start, dot - start);
    const std::string key = segment.substr(0, segment.find('['));  // "eps_scale[1]": a list's item
    size_t i = 0;
    while (i < node->map.size() && node->map[i].first != key) ++i;
    if (i == node->map.size() || !node->map[i].second) break;
    const bool last = dot == std::string::npos;
    mark = last && unknown_key && key == segment ? node->key_marks[i] : node->map[i].second->mark;
    node = node->map[i].second.get();
    if (key != segment) {
      const size_t item = std::strtoul(segment.c_str() + key.size() + 1, nullptr, 10);
      if (node->type != YAML::NodeType::Sequence || item >= node->seq.size() || !node->seq[item]) break;
      node = node->seq[item].get();
      mark = node->mark;
    }
    if (last) break;
    start = dot + 1;
  }
  return ConfigError(where + ":" + (mark.line >= 0 ? std::to_string(mark.line + 1) : "?"), e.key_path(), e.detail());
}

}  // namespace repro::runner
