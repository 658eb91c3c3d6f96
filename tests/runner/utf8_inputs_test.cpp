// Experiment files are read into JSON (run configs, identities, the store), which must be UTF-8:
// a byte that is not, in a value or in the file's own path (relative paths resolve under it), is
// a ConfigError naming the file and the key. Axis names are identifiers.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "base/util/errors.h"
#include "runner/experiment/experiment_file.h"
#include "tests/support/test_support.h"

namespace repro::test {
namespace {

// The ConfigError `fn` throws, as (message, key path); a failure when it throws anything else.
template <typename Fn>
std::pair<std::string, std::string> config_error(Fn&& fn) {
  try {
    fn();
  } catch (const ConfigError& e) {
    return {e.what(), e.key_path()};
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not a ConfigError: " << e.what();
    return {e.what(), ""};
  }
  ADD_FAILURE() << "no error";
  return {"", ""};
}

std::string experiment(const std::string& description, const std::string& data_path,
                       const std::string& axis = "method") {
  return "name: u\ndescription: " + description + "\nbase:\n  data: {path: " + data_path + "}\nmatrix:\n  " + axis +
         ": [{name: a, train: {method: adm}}]\n";
}

TEST(Utf8Inputs, DescriptionNotUtf8NamesFileLineAndKey) {
  TempDir dir;
  const std::string path = dir.write("e.yaml", experiment("caf\xE9 \xFF", "data"));
  const auto [message, key] = config_error([&] { runner::read_experiment_file(path); });
  EXPECT_EQ(key, "description");
  EXPECT_EQ(message.rfind(path + ":2: key 'description': text that is not UTF-8 (byte 3 of a value)", 0), 0u)
      << message;
}

TEST(Utf8Inputs, DataPathNotUtf8NamesTheKeyPath) {
  TempDir dir;
  const std::string path = dir.write("e.yaml", experiment("fine", "/data/\xFF/train"));
  const auto [message, key] = config_error([&] { runner::read_experiment_file(path); });
  EXPECT_EQ(key, "base.data.path");
  EXPECT_EQ(message.rfind(path + ":4: key 'base.data.path': text that is not UTF-8 (byte 6", 0), 0u) << message;
}

TEST(Utf8Inputs, AKeyNotUtf8IsShownWithQuestionMarks) {
  TempDir dir;
  const std::string path = dir.write("e.yaml", "name: u\nbase:\n  \xFFx: 1\n");
  const auto [message, key] = config_error([&] { runner::read_experiment_file(path); });
  EXPECT_EQ(key, "base.?x");
  EXPECT_NE(message.find(path + ":3: key 'base.?x': text that is not UTF-8"), std::string::npos) << message;
}

// Relative paths of the file resolve under its directory; that directory's name is not UTF-8.
TEST(Utf8Inputs, FileInADirectoryNotUtf8) {
  TempDir dir;
  std::filesystem::create_directories(dir.path() / "d\xFF");
  const std::string path = dir.write("d\xFF/e.yaml", experiment("fine", "data"));
  const auto [message, key] = config_error([&] { runner::read_experiment_file(path); });
  EXPECT_EQ(message.rfind(path + ": the file's path", 0), 0u) << message;
  EXPECT_NE(message.find("is not UTF-8 at byte"), std::string::npos) << message;
}

TEST(AxisNames, AreIdentifiers) {
  TempDir dir;
  for (const std::string bad : {"a.b", "a-b", "1x", "a b", "\"\"", "m\xC3\xA9thode"}) {
    const std::string path = dir.write("e.yaml", experiment("fine", "data", bad));
    const auto [message, key] = config_error([&] { runner::read_experiment_file(path); });
    EXPECT_NE(message.find(path + ":6:3: key 'matrix."), std::string::npos) << bad << ": " << message;
    EXPECT_NE(message.find("an axis name must be an identifier"), std::string::npos) << message;
  }
  for (const std::string good : {"method", "_x", "Train_Iterations2"}) {
    const std::string path = dir.write("e.yaml", experiment("fine", "data", good));
    const auto f = runner::read_experiment_file(path);
    ASSERT_EQ(f.axes.size(), 1u);
    EXPECT_EQ(f.axes[0].name, good);
  }
}

}  // namespace
}  // namespace repro::test
