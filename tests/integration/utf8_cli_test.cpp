// Bytes that are not UTF-8 in an experiment file or its path: `repro run --dry-run` exits 2 with
// a message naming the file and the key, not 1 with nlohmann's "type_error.316" naming nothing.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/support/test_support.h"

using namespace repro;
namespace fs = std::filesystem;

namespace {

using test::repro_cli;

std::string experiment(const std::string& description, const std::string& data_path) {
  return "name: u\ndescription: " + description + "\nbase:\n  data: {path: " + data_path +
         "}\nmatrix:\n  method: [{name: a, train: {method: adm}}]\n";
}

void expect_config_error(const std::string& args, const std::string& file, const std::string& fragment) {
  std::string out;
  EXPECT_EQ(repro_cli(args, &out), 2) << out;
  EXPECT_NE(out.find(file), std::string::npos) << out;
  EXPECT_NE(out.find(fragment), std::string::npos) << out;
  EXPECT_EQ(out.find("type_error"), std::string::npos) << out;
}

}  // namespace

TEST(Utf8Cli, DescriptionAndDataPathNotUtf8) {
  test::TempDir dir;
  std::ofstream(dir.file("d.yaml")) << experiment("caf\xE9", "data");
  std::ofstream(dir.file("p.yaml")) << experiment("fine", "/data/\xFF/x");
  const std::string project = " --project " + dir.file("proj") + " --dry-run";
  expect_config_error("run " + dir.file("d.yaml") + project, dir.file("d.yaml") + ":2: key 'description'", "not UTF-8");
  expect_config_error("run " + dir.file("p.yaml") + project + " --json",
                      dir.file("p.yaml") + ":4: key 'base.data.path'", "not UTF-8");
  EXPECT_FALSE(fs::exists(dir.file("proj") + "/repro.db"));
}

// A relative data path resolves under the file's directory, whose name is not UTF-8.
TEST(Utf8Cli, ExperimentInADirectoryNotUtf8) {
  test::TempDir dir;
  fs::create_directories(dir.path() / "d\xFF");
  const std::string file = dir.file("d\xFF/e.yaml");
  std::ofstream(file) << experiment("fine", "data");
  expect_config_error("run '" + file + "' --project " + dir.file("proj") + " --dry-run --json", file,
                      "the file's path");
}
