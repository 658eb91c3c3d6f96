// A data subset recorded where it arises and carried into the store (reports flag it with ¶,
// reports/result_banners.h): `repro data export --limit` notes it in the npz's recipe, and an eval
// task (`repro task`, random-inception features, a few images) copies it, and a training
// dataset's "(a subset)" count_note, into its result's recipe as data_subset.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "base/util/file_io.h"
#include "tests/support/test_support.h"
#include "tests/support/tiny_unet.h"

using namespace repro;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

using test::repro_cli;

class DataSubset : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(test::run_python("import numpy as np\nr = np.random.default_rng(3)\n"
                               "np.savez('src.npz', r.integers(0, 256, (10, 8, 8, 3), dtype=np.uint8))\n"
                               "np.savez('samples.npz', r.integers(0, 256, (6, 8, 8, 3), dtype=np.uint8))\n",
                               dir_.path()),
              0);
    std::string out;
    ASSERT_EQ(repro_cli("data prepare npz --source " + f("src.npz") + " --out " + f("packed"), &out), 0) << out;
    fs::create_directories(f("r1/samples"));
    fs::create_directories(f("r1/tasks"));
    fs::copy_file(f("samples.npz"), f("r1/samples/r1-sample.npz"));
    std::ofstream(f("r1/train.yaml")) << test::kTinyUnet8Yaml << "data:\n  path: " << f("packed") << "\n";
  }
  std::string f(const std::string& name) const { return dir_.file(name); }

  // Runs an eval task of run r1 against `reference`; its result's recipe.
  json eval_recipe(const std::string& reference) {
    const json spec = {{"batch_size", 8},
                       {"features", "random-inception"},
                       {"metrics", {"pr"}},
                       {"reference", reference},
                       {"samples_of", "r1-sample"}};
    const std::string events = f("r1/tasks/r1-eval.events.jsonl");
    fs::remove(events);
    const json task = {{"v", 1},           {"task_id", "r1-eval"}, {"run_id", "r1"},
                       {"kind", "eval"},   {"run_dir", f("r1")},   {"depends_on", json::array()},
                       {"events", events}, {"spec", spec}};
    write_file_atomic(f("r1/tasks/r1-eval.json"), task.dump(1));
    std::string out;
    EXPECT_EQ(repro_cli("task " + f("r1/tasks/r1-eval.json") + " --threads 2", &out), 0) << out;
    for (const auto& e : test::read_events(events))
      if (e.value("type", "") == "result") return e["recipe"];
    ADD_FAILURE() << "no result event in " << events;
    return json();
  }
  test::TempDir dir_;
};

TEST_F(DataSubset, ExportLimitIsRecordedAndTheEvalTaskCarriesIt) {
  std::string out;
  ASSERT_EQ(repro_cli("data export " + f("packed") + " --npz " + f("ref.npz") + " --limit 4", &out), 0) << out;
  EXPECT_NE(out.find("a subset"), std::string::npos) << out;
  const json recipe = json::parse(read_file(f("ref.npz.recipe.json")));
  EXPECT_EQ(recipe["images"], 4);
  EXPECT_EQ(recipe["subset"], (json{{"images", 4}, {"of", 10}, {"source", f("packed")}})) << recipe.dump();
  // The npz itself is what the reference evaluator reads: arr_0 alone.
  ASSERT_EQ(test::run_python("import numpy as np\nz = np.load('ref.npz')\n"
                             "assert z.files == ['arr_0'] and z['arr_0'].shape == (4, 8, 8, 3), z.files\n",
                             dir_.path()),
            0);
  const json eval = eval_recipe(f("ref.npz"));
  ASSERT_TRUE(eval.contains("data_subset")) << eval.dump();
  EXPECT_EQ(eval["data_subset"], (json{{"reference", "4 of 10 images of " + f("packed")}})) << eval.dump();
}

TEST_F(DataSubset, WholeDataGivesNoneAndASubsetDatasetIsCarried) {
  std::string out;
  ASSERT_EQ(repro_cli("data export " + f("packed") + " --npz " + f("full.npz"), &out), 0) << out;
  EXPECT_EQ(out.find("a subset"), std::string::npos) << out;
  EXPECT_FALSE(json::parse(read_file(f("full.npz.recipe.json"))).contains("subset"));
  EXPECT_FALSE(eval_recipe(f("full.npz")).contains("data_subset"));

  // A prepare that wrote fewer images than the published split notes it in the manifest: the
  // training data are a subset, and so is the reference batch of all of them.
  json manifest = json::parse(read_file(f("packed/manifest.json")));
  const std::string note = "npz: 10 images prepared, the published train split has 60000 (a subset)";
  manifest["recipe"]["count_note"] = note;
  write_file_atomic(f("packed/manifest.json"), manifest.dump(1));
  const json eval = eval_recipe(f("full.npz"));
  EXPECT_EQ(eval["data_subset"], (json{{"reference", note}, {"train", note}})) << eval.dump();
  // Exported now, the reference's own recipe says so.
  ASSERT_EQ(repro_cli("data export " + f("packed") + " --npz " + f("full.npz"), &out), 0) << out;
  EXPECT_EQ(json::parse(read_file(f("full.npz.recipe.json")))["subset"].value("note", ""), note);
}

// `repro eval ref --num` takes part of a prepared dataset: the eval task finds that from its
// recipe's source.
TEST_F(DataSubset, EvalRefOfPartOfAPreparedDataset) {
  std::string out;
  ASSERT_EQ(
      repro_cli("eval ref " + f("packed") + " --num 5 --out " + f("R.npz") + " --features random-inception", &out), 0)
      << out;
  const json eval = eval_recipe(f("R.npz"));
  EXPECT_EQ(eval["data_subset"], (json{{"reference", "5 of 10 images of " + f("packed")}})) << eval.dump();
}

}  // namespace
