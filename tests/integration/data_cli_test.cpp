// `repro data` as users run it: prepare from an npz and an image folder, info, export back to
// the reference's npz (equal to the source by numpy), a grid Pillow reads, the idempotent rerun,
// training from the prepared directory, and clear errors for bad input.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/support/test_support.h"

using namespace repro;
namespace fs = std::filesystem;

namespace {
using test::repro_cli;
}  // namespace

TEST(DataCli, PrepareInfoExportGridAndTrain) {
  test::TempDir dir;
  ASSERT_EQ(test::run_python(
                "import numpy as np\nnp.savez('src.npz', np.random.default_rng(2).integers(0, 256, (10, 8, 8, 3), "
                "dtype=np.uint8))\n",
                dir.path()),
            0);
  std::string out;
  const std::string packed = dir.file("packed");
  ASSERT_EQ(repro_cli("data prepare npz --source " + dir.file("src.npz") + " --out " + packed, &out), 0) << out;
  EXPECT_NE(out.find("prepared: "), std::string::npos) << out;
  EXPECT_TRUE(fs::exists(packed + "/packed.bin"));
  // Again: nothing to do.
  ASSERT_EQ(repro_cli("data prepare npz --source " + dir.file("src.npz") + " --out " + packed, &out), 0) << out;
  EXPECT_NE(out.find("up to date"), std::string::npos) << out;
  ASSERT_EQ(repro_cli("data info " + packed, &out), 0) << out;
  EXPECT_NE(out.find("\"fingerprint\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"count\": 10"), std::string::npos) << out;
  ASSERT_EQ(repro_cli("data export " + packed + " --npz " + dir.file("back.npz"), &out), 0) << out;
  ASSERT_EQ(repro_cli("data grid " + packed + " --out " + dir.file("grid.png") + " --count 6", &out), 0) << out;
  ASSERT_EQ(test::run_python("import numpy as np\nfrom PIL import Image\n"
                             "a = np.load('src.npz')['arr_0']; b = np.load('back.npz')['arr_0']\n"
                             "assert a.dtype == b.dtype and (a == b).all(), 'export differs'\n"
                             "g = Image.open('grid.png'); assert g.size[0] > 8 * 6, g.size\n",
                             dir.path()),
            0);
  // Train from the prepared directory: the run records the dataset's fingerprint.
  std::ofstream(dir.file("train.yaml"))
      << "model: {image_size: 8, num_channels: 32, channel_mult: [1, 1], num_res_blocks: 1,\n"
         "        attention_resolutions: [4], num_head_channels: 32, learn_sigma: true}\n"
         "train: {batch_size: 4, iterations: 2, log_interval: 1, save_interval: 2}\n"
         "data: {path: packed}\n";
  ASSERT_EQ(
      repro_cli("train --config " + dir.file("train.yaml") + " --run-dir " + dir.file("run") + " --threads 1", &out), 0)
      << out;
  auto events = test::read_events(dir.file("run/events.jsonl"));
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.front()["data_fingerprint"].get<std::string>().size(), 64u);
}

TEST(DataCli, AFolderWithABadImageAndOtherMistakes) {
  test::TempDir dir;
  ASSERT_EQ(test::run_python("import os, numpy as np\nfrom PIL import Image\nos.makedirs('imgs')\n"
                             "for i in range(3):\n"
                             "    Image.fromarray(np.full((20, 12, 3), 40 * i, np.uint8)).save(f'imgs/{i}.png')\n"
                             "open('imgs/3.png', 'wb').write(b'not a png')\n",
                             dir.path()),
            0);
  std::string out;
  // Without --skip-bad the bad file ends the prepare, naming it, and leaves nothing complete.
  EXPECT_EQ(repro_cli("data prepare folder --source " + dir.file("imgs") + " --size 8 --out " + dir.file("p"), &out),
            3);
  EXPECT_NE(out.find("3.png"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(dir.file("p/manifest.json")));
  ASSERT_EQ(
      repro_cli("data prepare folder --source " + dir.file("imgs") + " --size 8 --skip-bad --out " + dir.file("p"),
                &out),
      0)
      << out;
  EXPECT_NE(out.find("skipped 1"), std::string::npos) << out;
  EXPECT_NE(out.find("3 images 8x8x3"), std::string::npos) << out;
  // Mistakes: a folder without --size, an unknown dataset, a missing source, a wrong size.
  EXPECT_EQ(repro_cli("data prepare folder --source " + dir.file("imgs") + " --out " + dir.file("q"), &out), 2);
  EXPECT_NE(out.find("--size"), std::string::npos) << out;
  EXPECT_EQ(repro_cli("data prepare mnist --source x --out " + dir.file("q"), &out), 2);
  EXPECT_NE(out.find("cifar10"), std::string::npos) << out;
  EXPECT_EQ(repro_cli("data prepare cifar10 --source " + dir.file("nope.tar.gz") + " --out " + dir.file("q"), &out), 3);
  EXPECT_NE(out.find("nope.tar.gz"), std::string::npos) << out;
  EXPECT_EQ(
      repro_cli("data prepare cifar10 --source " + dir.file("imgs/0.png") + " --size 64 --out " + dir.file("q"), &out),
      2);
  EXPECT_EQ(repro_cli("data info " + dir.file("q"), &out), 3);
}
