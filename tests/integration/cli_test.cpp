// The repro binary as users run it: exit codes, messages that name the file and key, nothing
// written on failure, and reproducible sampling in the reference sample format.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "base/util/npy.h"
#include "tests/support/test_support.h"

using namespace repro;
namespace fs = std::filesystem;

namespace {

using test::repro_cli;

const char* kTinyModel =
    "model:\n  image_size: 16\n  num_channels: 32\n  channel_mult: [1, 2]\n  num_res_blocks: 1\n"
    "  attention_resolutions: [8]\n  num_head_channels: 32\n  learn_sigma: true\n  resblock_updown: true\n"
    "  use_new_attention_order: true\ndiffusion:\n  noise_schedule: cosine\n";

}  // namespace

TEST(Cli, VersionNamesLibTorchAndCuda) {
  std::string out;
  ASSERT_EQ(repro_cli("--version", &out), 0) << out;
  EXPECT_NE(out.find("LibTorch: 1.13"), std::string::npos) << out;
  EXPECT_NE(out.find("git commit:"), std::string::npos) << out;
  EXPECT_NE(out.find("CUDA:"), std::string::npos) << out;
}

TEST(Cli, ModelInfoPrintsTheParameterCount) {
  test::TempDir dir;
  std::ofstream(dir.file("m.yaml")) << "model:\n  preset: 32\n";
  std::string out;
  ASSERT_EQ(repro_cli("model info --config " + dir.file("m.yaml"), &out), 0) << out;
  EXPECT_NE(out.find("parameters: 57094662"), std::string::npos) << out;
}

TEST(Cli, UnknownKeyExitsTwoNamingFileLineAndKey) {
  test::TempDir dir;
  std::ofstream(dir.file("m.yaml")) << "model:\n  image_size: 32\n  num_heads_per_block: 2\n";
  std::string out;
  EXPECT_EQ(repro_cli("model info --config " + dir.file("m.yaml"), &out), 2);
  EXPECT_NE(out.find("m.yaml:3"), std::string::npos) << out;
  EXPECT_NE(out.find("model.num_heads_per_block"), std::string::npos) << out;
}

TEST(Cli, MismatchedCheckpointIsRefusedWithTheDifferencesAndNothingWritten) {
  test::TempDir dir;
  std::ofstream(dir.file("m.yaml")) << kTinyModel;
  // A checkpoint of a different model: one key with a wrong shape, one missing, one extra.
  std::string script =
      "import torch, collections, numpy as np\n"
      "sd = collections.OrderedDict()\n"
      "sd['time_embed.0.weight'] = torch.zeros(128, 16)\n"
      "sd['bogus.weight'] = torch.zeros(2)\n"
      "torch.save(sd, 'bad.pt')\n"
      "np.save('x.npy', np.zeros((1, 3, 16, 16), np.float32))\n"
      "np.save('t.npy', np.zeros((1,), np.int64))\n";
  ASSERT_EQ(test::run_python(script, dir.path()), 0);
  std::string out;
  EXPECT_EQ(repro_cli("model forward --config " + dir.file("m.yaml") + " --checkpoint " + dir.file("bad.pt") + " --x " +
                          dir.file("x.npy") + " --t " + dir.file("t.npy") + " --out " + dir.file("o.npy"),
                      &out),
            4);
  EXPECT_NE(out.find("bad.pt"), std::string::npos) << out;
  EXPECT_NE(out.find("mis-shaped: time_embed.0.weight: checkpoint [128, 16], model [128, 32]"), std::string::npos)
      << out;
  EXPECT_NE(out.find("unexpected: bogus.weight"), std::string::npos) << out;
  EXPECT_NE(out.find("missing: time_embed.0.bias [128]"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(dir.file("o.npy")));
}

TEST(Cli, WrongInputShapeIsADataError) {
  test::TempDir dir;
  std::ofstream(dir.file("m.yaml")) << kTinyModel;
  ASSERT_EQ(test::run_python("import numpy as np\nnp.save('x.npy', np.zeros((2, 3, 32, 32), np.float32))\n"
                             "np.save('t.npy', np.zeros((2,), np.int64))\n",
                             dir.path()),
            0);
  std::string out;
  EXPECT_EQ(repro_cli("model forward --config " + dir.file("m.yaml") + " --checkpoint " + dir.file("none.pt") +
                          " --x " + dir.file("x.npy") + " --t " + dir.file("t.npy") + " --out " + dir.file("o.npy"),
                      &out),
            4);
  EXPECT_NE(out.find("x.npy: expected shape [N, 3, 16, 16], got [2, 3, 32, 32]"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(dir.file("o.npy")));
}

TEST(Cli, MissingCheckpointIsAnIoError) {
  test::TempDir dir;
  std::ofstream(dir.file("m.yaml")) << kTinyModel;
  std::string out;
  EXPECT_EQ(repro_cli("sample --config " + dir.file("m.yaml") + " --checkpoint " + dir.file("nope.pt") +
                          " --num-samples 1 --out " + dir.file("s.npz"),
                      &out),
            3);
  EXPECT_NE(out.find("nope.pt"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(dir.file("s.npz")));
}

TEST(Cli, CudaRequestedWithoutAGpuSaysSo) {
  std::string probe;
  repro_cli("--version", &probe);
  if (probe.find("CUDA: available") != std::string::npos) GTEST_SKIP() << "a GPU is present";
  test::TempDir dir;
  std::ofstream(dir.file("m.yaml")) << kTinyModel;
  std::string out;
  EXPECT_EQ(
      repro_cli("sample --config " + dir.file("m.yaml") + " --device cuda --num-samples 1 --out " + dir.file("s.npz"),
                &out),
      2);
  EXPECT_NE(out.find("CUDA is not available"), std::string::npos) << out;
}

TEST(Cli, SampleIsReproducibleAndInTheReferenceFormat) {
  test::TempDir dir;
  std::ofstream(dir.file("m.yaml")) << kTinyModel;
  auto sample = [&](const std::string& name, int seed, const std::string& extra) {
    std::string out;
    EXPECT_EQ(repro_cli("sample --config " + dir.file("m.yaml") + " --steps 5 --num-samples 3 --batch-size 2 --seed " +
                            std::to_string(seed) + " --quiet --threads 2 --out " + dir.file(name) + extra,
                        &out),
              0)
        << out;
    return read_npz(dir.file(name));
  };
  auto a = sample("a.npz", 1, " --grid " + dir.file("grid.png"));
  auto b = sample("b.npz", 1, "");
  auto c = sample("c.npz", 2, "");
  auto d = sample("d.npz", 1, " --ddim --eta 0.5");
  ASSERT_EQ(a.size(), 1u);
  const auto& arr = a.at("arr_0");
  EXPECT_EQ(arr.descr, "|u1");
  EXPECT_EQ(arr.shape, (std::vector<int64_t>{3, 16, 16, 3}));
  EXPECT_EQ(arr.data, b.at("arr_0").data);
  EXPECT_NE(arr.data, c.at("arr_0").data);
  EXPECT_NE(arr.data, d.at("arr_0").data);
  // Pillow reads the grid: 3 images in one row, 2-pixel borders.
  ASSERT_EQ(test::run_python("from PIL import Image\nim = Image.open('grid.png')\n"
                             "assert im.size == (3 * 18 + 2, 20), im.size\nassert im.mode == 'RGB'\n",
                             dir.path()),
            0);
}
