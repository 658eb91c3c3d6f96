// Hostile experiment and config files: aliases that refer to themselves or expand
// exponentially, nesting past the parser's and our limits, and names long enough to overflow a
// recursive regex each give a ConfigError naming the file, quickly and in bounded memory.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "base/util/errors.h"
#include "config/strict_yaml.h"
#include "runner/experiment/experiment_file.h"
#include "tests/support/test_support.h"

namespace repro::test {
namespace {

// The message of the ConfigError `fn` throws; a failure when it throws anything else or nothing.
template <typename Fn>
std::string config_error(Fn&& fn) {
  try {
    fn();
  } catch (const ConfigError& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not a ConfigError: " << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no error";
  return "";
}

// The classic "billion laughs": 9 levels of 9 aliases, 9^9 = 387,420,489 scalars from ~600 bytes.
std::string billion_laughs() {
  std::string text = "name: laughs\na: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
  for (char c = 'b'; c <= 'i'; ++c) {
    text += std::string(1, c) + ": &" + c + " [";
    for (int i = 0; i < 9; ++i) text += std::string(i ? ", " : "") + "*" + static_cast<char>(c - 1);
    text += "]\n";
  }
  return text;
}

TEST(HostileYaml, ABillionLaughsFileFailsFastNamingTheFileAndTheNodeLimit) {
  TempDir dir;
  const std::string path = dir.write("laughs.yaml", billion_laughs());
  const auto start = std::chrono::steady_clock::now();
  const std::string message = config_error([&] { runner::read_experiment_file(path); });
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(message.rfind(path + ":", 0), 0u) << message;
  EXPECT_NE(message.find("expands past the limit of 1000000 nodes"), std::string::npos) << message;
  EXPECT_NE(message.find("REPRO_MAX_YAML_NODES"), std::string::npos) << message;
  EXPECT_LT(seconds, 5.0);
}

TEST(HostileYaml, AnAliasInsideItsOwnAnchorIsRefused) {
  TempDir dir;
  const std::string sequence = dir.write("seq.yaml", "name: loop\nbase: &x [*x]\n");
  std::string message = config_error([&] { runner::read_experiment_file(sequence); });
  EXPECT_EQ(message, sequence + ":2: a node contains an alias to itself (an anchor used inside its own value)");
  // The merge-key spelling: yaml-cpp keeps `<<` as a key whose value is the mapping itself.
  const std::string merge = dir.write("merge.yaml", "name: loop\nbase: &self\n  model:\n    x: 1\n  <<: *self\n");
  message = config_error([&] { runner::read_experiment_file(merge); });
  EXPECT_NE(message.find(merge + ":2: a node contains an alias to itself"), std::string::npos) << message;
  // --set values and model/train files go through the same loader.
  message = config_error([] { config::load_yaml_string("&y {a: *y}", "--set train.x"); });
  EXPECT_NE(message.find("--set train.x:1: a node contains an alias to itself"), std::string::npos) << message;
}

TEST(HostileYaml, NestingPastTheParsersLimitIsAConfigErrorNotASyntaxError) {
  TempDir dir;
  const std::string path = dir.write("deep.yaml", "name: deep\nbase: " + std::string(100000, '[') + "\n");
  const std::string message = config_error([&] { runner::read_experiment_file(path); });
  EXPECT_EQ(message.rfind(path + ":", 0), 0u) << message;  // the line is where yaml-cpp's scanner stopped
  EXPECT_NE(message.find(": the document nests deeper than 500 levels"), std::string::npos) << message;
  EXPECT_EQ(message.find("bad file"), std::string::npos) << message;  // yaml-cpp's own misleading text
}

TEST(HostileYaml, NestingPastOurLimitIsRefusedBeforeAnyReaderRecurses) {
  TempDir dir;
  const std::string path =
      dir.write("deep.yaml", "name: deep\nbase: " + std::string(150, '[') + std::string(150, ']') + "\n");
  const std::string message = config_error([&] { runner::read_experiment_file(path); });
  EXPECT_NE(message.find(path + ":2: the document: nesting deeper than 100 levels (REPRO_MAX_NESTING raises it)"),
            std::string::npos)
      << message;
}

TEST(HostileYaml, AliasesUsedWithinTheLimitsStillLoad) {
  const YAML::Node root =
      config::load_yaml_string("shared: &s {model: {channels: 64}}\na: *s\nb: *s\nlist: [*s, *s]\n", "ok.yaml");
  EXPECT_EQ(root["b"]["model"]["channels"].as<int>(), 64);
}

TEST(HostileYaml, ANameOrLabelOfFiftyThousandCharactersIsRefusedByItsLength) {
  TempDir dir;
  const std::string long_text(50000, 'a');
  const std::string name = dir.write("name.yaml", "name: " + long_text + "\n");
  std::string message = config_error([&] { runner::read_experiment_file(name); });
  EXPECT_NE(message.find("key 'name': an experiment name may hold at most 200 characters, got 50000"),
            std::string::npos)
      << message.substr(0, 300);
  EXPECT_LT(message.size(), 400u);  // the message quotes only the start of it
  const std::string label =
      dir.write("label.yaml", "name: ok\nmatrix:\n  seed:\n    key: train.seed\n    values: [" + long_text + "]\n");
  message = config_error([&] { runner::read_experiment_file(label); });
  EXPECT_NE(message.find("key 'matrix.seed[0]': a label may hold at most 200 characters, got 50000"), std::string::npos)
      << message.substr(0, 300);
}

TEST(HostileYaml, NamesAndLabelsKeepTheirCharacterClasses) {
  TempDir dir;
  const std::string name = dir.write("name.yaml", "name: a/b\n");
  EXPECT_NE(config_error([&] {
              runner::read_experiment_file(name);
            }).find("an experiment name may hold letters, digits and _ . - only, got 'a/b'"),
            std::string::npos);
  const std::string label =
      dir.write("label.yaml", "name: ok\nmatrix:\n  seed:\n    key: train.seed\n    values: ['a b']\n");
  EXPECT_NE(config_error([&] {
              runner::read_experiment_file(label);
            }).find("a label may hold letters, digits and _ . + - only, got 'a b'"),
            std::string::npos);
  const std::string good =
      dir.write("good.yaml", "name: ok-1.2_x\nmatrix:\n  seed:\n    key: train.seed\n    values: [1e+3, a_b.c-d]\n");
  EXPECT_EQ(runner::read_experiment_file(good).axes.at(0).values.at(1).label, "a_b.c-d");
}

}  // namespace
}  // namespace repro::test
