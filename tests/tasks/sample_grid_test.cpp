// The sample task's PNG grid: a tiny run trains, samples 64 images, and the grid beside the npz
// holds them as 8 x 8 tiles (decoded by Pillow, compared with the npz by numpy); its `artifact`
// record reaches the store, where the report's figure query finds it.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/util/exit_code.h"
#include "base/util/sha256.h"
#include "runner/plan/task_spec.h"
#include "store/figure_queries.h"
#include "store/ingest.h"
#include "store/records.h"
#include "tasks/run_task.h"
#include "tests/support/task_file_writer.h"
#include "tests/support/test_support.h"
#include "tests/support/tiny_data.h"
#include "tests/support/tiny_unet.h"

using namespace repro;
using nlohmann::json;
namespace fs = std::filesystem;
using test::write_task_file;

namespace {

int run(const std::string& path) {
  std::ostringstream err;
  return tasks::run_task(path, {/*threads=*/2, {}}, err);
}

std::vector<json> events_of_type(const std::string& events, const std::string& type) {
  std::vector<json> out;
  for (const auto& e : test::read_events(events))
    if (e.value("type", "") == type) out.push_back(e);
  return out;
}

TEST(SampleTaskGrid, WritesThe64SampleGridAndRecordsIt) {
  test::TempDir dir;
  const std::string data = test::write_dataset(dir, 8);
  const std::string config = std::string(test::kTinyUnet8Yaml) +
                             "diffusion:\n  diffusion_steps: 20\n"
                             "train:\n  batch_size: 4\n  iterations: 2\n  save_interval: 2\n  log_interval: 1\n"
                             "data:\n  path: " +
                             data + "\n";
  const runner::TrainTaskSpec train{config, R"({"train":{"seed":0}})", 2};
  ASSERT_EQ(run(write_task_file(dir, "r1-train2", "train", json::parse(runner::spec_text(train)))),
            to_int(ExitCode::kOk));
  runner::SampleTaskSpec sample;
  sample.batch_size = 40;  // two batches: the grid takes the first 64 of 70
  sample.checkpoint_step = 2;
  sample.ema = "0.9999";
  sample.num_samples = 70;
  sample.sampler = "ancestral";
  sample.seed = 7;
  sample.steps = 4;
  ASSERT_EQ(run(write_task_file(dir, "r1-sample-g", "sample", sample)), to_int(ExitCode::kOk));

  const fs::path png = dir.path() / "r1" / "samples" / "r1-sample-g.png";
  const fs::path npz = dir.path() / "r1" / "samples" / "r1-sample-g.npz";
  ASSERT_TRUE(fs::is_regular_file(png));
  // 8 x 8 tiles of 8 x 8 pixels with 2-pixel borders: 8 * (8 + 2) + 2 = 82 pixels a side; each
  // tile is that sample of the npz.
  EXPECT_EQ(test::run_python("from PIL import Image\nimport numpy as np\n"
                             "g = np.asarray(Image.open('" +
                                 png.string() +
                                 "').convert('RGB'))\n"
                                 "a = np.load('" +
                                 npz.string() +
                                 "')['arr_0']\n"
                                 "assert g.shape == (82, 82, 3), g.shape\n"
                                 "assert a.shape == (70, 8, 8, 3), a.shape\n"
                                 "for i in range(64):\n"
                                 "    r, c = divmod(i, 8)\n"
                                 "    assert (g[2 + 10 * r:10 + 10 * r, 2 + 10 * c:10 + 10 * c] == a[i]).all(), i\n"
                                 "assert (g[0:2] == 0).all() and (g[:, 0:2] == 0).all()\n",
                             dir.path()),
            0);

  const std::string events = (dir.path() / "r1" / "tasks" / "r1-sample-g.events.jsonl").string();
  const auto artifacts = events_of_type(events, "artifact");
  ASSERT_EQ(artifacts.size(), 2u);
  EXPECT_EQ(artifacts[0].value("path", ""), "samples/r1-sample-g.png");
  EXPECT_EQ(artifacts[0].value("sha256", ""), sha256_file_hex(png.string()));
  EXPECT_EQ(artifacts[0].value("bytes", int64_t{0}), static_cast<int64_t>(fs::file_size(png)));
  EXPECT_EQ(artifacts[1].value("path", ""), "samples/r1-sample-g.npz");

  // Ingested, the report's query finds the PNG with the sample task's spec.
  runner::Store store(dir.file("repro.db"));
  runner::put_experiment(store, {"e", "e.yaml", std::string(64, 'a')});
  runner::put_run(store, {"r1", "e", R"({"method":"adm"})", 0, "{}", dir.file("r1")});
  runner::put_task(store, {"r1-sample-g", "r1", runner::TaskKind::kSample, runner::spec_text(sample)});
  runner::ingest_events(store, "r1-sample-g", events);
  const auto rows = runner::sample_artifacts_of_experiment(store, "e");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].path, "samples/r1-sample-g.png");
  EXPECT_EQ(rows[1].sha256, sha256_file_hex(png.string()));
  EXPECT_EQ(json::parse(rows[1].spec).value("steps", 0), 4);
  EXPECT_EQ(rows[1].run_dir, dir.file("r1"));
}

}  // namespace
