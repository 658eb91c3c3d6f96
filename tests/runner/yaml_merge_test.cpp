// The light config trees' text: emitted() writes what yaml-cpp's emitter writes for the same tree
// (the train task's config is that text, and the plan digest covers it), on the trees of the
// experiment files and on trees with the scalars YAML quotes, nested mappings, both sequence
// styles, nulls and the shapes emitted() leaves to yaml-cpp.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "runner/experiment/expand.h"
#include "runner/experiment/yaml_merge.h"
#include "runner/plan/task_graph.h"
#include "tests/runner/stand_in_checkpoints.h"
#include "tests/support/test_support.h"

using namespace repro;
using namespace repro::runner;

namespace {

std::string by_yaml_cpp(const ConfigTree& tree) {
  YAML::Emitter out;
  emit(out, tree);
  return out.c_str();
}

}  // namespace

TEST(Emitted, WritesWhatTheEmitterWrites) {
  const std::vector<std::string> docs = {
      "a: 1\nb: {c: 2, d: [1, 2]}\ne:\n  - x\n  - y\nf: {g: {h: 1, i: [a, b]}, j: {k: {l: [m]}}}\n",
      "c: ~\nd:\ne: ''\nf: 'a: b'\ng: [a, 'b,c', '[x]', 'y: z', '#q', '', ' lead', 'trail ', '- d', '*a', '&b']\n",
      "h: \"multi\\nline\"\ni: \"tab\\there\"\nj: 'quote \" in'\nk: \"it's\"\nl: '@at'\nm: '`tick'\nn: '%p'\n",
      "x: 1.0e-4\ny: 0.9999\nz: yes\nw: -1\nv: \"0.9999\"\nu: 'true'\nt: null\ns: '~'\nr: 'null'\nq: '0x1F'\n",
      "'weird key': 1\n'a: b': 2\n'#k': 3\n'': 4\n'k,l': [1, 2]\n'[k]': {a: 1}\n",
      "unicode: héllo\nemoji: \"\\U0001F600\"\nctrl: \"\\x07\"\nlong: " + std::string(300, 'x') + "\n",
      "list:\n  - 1\n  - 'two words'\n  - ''\n  - ~\nflow: [~, '', 'a b']\nnested:\n  deeper:\n    - p\n    - q\n",
      // Left to yaml-cpp: empty collections, collections in sequences, a scalar at the top.
      "a: {}\nb: []\n",
      "k: [{a: 1}, [2]]\nl:\n  - {a: 1, b: 2}\n  - [1, 2]\n",
      "just a scalar\n",
      "[1, 2]\n",
  };
  for (const auto& doc : docs) {
    SCOPED_TRACE(doc);
    const ConfigTree tree = to_tree(YAML::Load(doc));
    ScalarTexts texts;
    EXPECT_EQ(emitted(tree, texts), by_yaml_cpp(tree));
    EXPECT_EQ(emitted(tree, texts), by_yaml_cpp(tree));  // again, from the remembered scalars
  }
  ScalarTexts texts;
  EXPECT_EQ(emitted(nullptr, texts), by_yaml_cpp(nullptr));
}

// Random mappings over scalars that YAML writes plainly, quoted or escaped.
TEST(Emitted, WritesWhatTheEmitterWritesForRandomTrees) {
  const std::vector<std::string> scalars = {
      "a",   "0.1", "1e-5", "-3", "true", "no",   "~",   "null", "",     "a b", "a: b", "a #b", "#a", "- a", "[a]",
      "{a}", "a,b", "'",    "\"", "\\",   "\t",   "\n",  " a",   "a ",   "?",   "?a",   "! a",  "|",  ">",   "%",
      "@",   "`",   "*",    "&a", "é",    "0x10", "010", ".inf", ".nan", "1:2", "a:b",  "=",    "<<", "---", "..."};
  std::mt19937 rng(7);
  bool null_items = false;  // in half the trees: those go through yaml-cpp's emitter
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  std::function<ConfigTree(int)> make = [&](int depth) -> ConfigTree {
    auto n = std::make_shared<ConfigNode>();
    const size_t kind = depth == 0 ? 3 : pick(6);
    if (kind <= 1 && depth > 0) {
      n->type = YAML::NodeType::Scalar;
      n->scalar = scalars[pick(scalars.size())];
    } else if (kind == 2 && depth > 0) {
      n->type = YAML::NodeType::Sequence;
      n->style = pick(2) ? YAML::EmitterStyle::Flow : YAML::EmitterStyle::Block;
      for (size_t i = 0, m = 1 + pick(4); i < m; ++i) {
        auto item = std::make_shared<ConfigNode>();
        item->type = null_items && !pick(8) ? YAML::NodeType::Null : YAML::NodeType::Scalar;  // null: yaml-cpp's
        item->scalar = item->type == YAML::NodeType::Scalar ? scalars[pick(scalars.size())] : "";
        n->seq.push_back(item);
      }
    } else if (kind == 3 && depth > 0) {
      n->type = YAML::NodeType::Null;
    } else {
      n->type = YAML::NodeType::Map;
      for (size_t i = 0, m = 1 + pick(4); i < m; ++i) {
        n->map.emplace_back(scalars[pick(scalars.size())] + std::to_string(i), depth < 3 ? make(depth + 1) : make(3));
        n->key_marks.push_back(YAML::Mark::null_mark());
      }
    }
    return n;
  };
  ScalarTexts texts;
  for (int i = 0; i < 300; ++i) {
    null_items = i % 2;
    const ConfigTree tree = make(0);
    const std::string want = by_yaml_cpp(tree);
    ASSERT_EQ(emitted(tree, texts), want) << "tree " << i;
  }
}

// Every run of every experiment file: its training file as the task graph writes it (without
// data: for a run from a checkpoint file).
TEST(Emitted, TrainingFilesOfTheExperimentFilesAreTheEmittersText) {
  namespace fs = std::filesystem;
  for (const auto& entry : fs::directory_iterator(test::source_dir() + "/experiments")) {
    if (entry.path().extension() != ".yaml") continue;
    SCOPED_TRACE(entry.path().string());
    for (const auto& run :
         expand(read_experiment_file(entry.path().string()), {test::stand_in_checkpoints_set()}).runs) {
      auto data = std::make_shared<ConfigNode>();
      data->type = YAML::NodeType::Scalar;
      data->scalar = run.train.data.path;
      const ConfigTree config = without(without(run.config, "eval"), "checkpoint");
      // A run from a checkpoint file trained on no data of ours: no data: section.
      const ConfigTree tree = run.checkpoint ? without(config, "data") : with_value(config, {"data", "path"}, data);
      EXPECT_EQ(train_yaml(run), by_yaml_cpp(tree) + "\n") << run.label_string();
    }
  }
}
