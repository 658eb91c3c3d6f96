// `repro sample --eps-scale B[,K] --start K --data D` as users run it: the options reach the job
// (tests/tasks/data_start_test.cpp checks the numbers in-process), the log names the chain, and a
// bad option is exit 2 naming it, before anything is written.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "base/util/npy.h"
#include "tests/support/test_support.h"
#include "tests/support/tiny_unet.h"

using namespace repro;
namespace fs = std::filesystem;

namespace {

std::string sample_args(const test::TempDir& dir, const std::string& out, const std::string& extra) {
  return "sample --config " + dir.file("m.yaml") + " --num-samples 3 --batch-size 2 --seed 4 --threads 2 --out " +
         dir.file(out) + " " + extra;
}

}  // namespace

TEST(SampleStartCli, ChainFromDataWithEpsScale) {
  test::TempDir dir;
  ASSERT_TRUE(test::write_numpy_images(dir, "ref.npz", 4, 3));
  std::ofstream(dir.file("m.yaml")) << test::kTinyUnet8Yaml << "diffusion:\n  noise_schedule: linear\n";
  std::string log;
  ASSERT_EQ(test::repro_cli(sample_args(dir, "s.npz", "--start 2 --data " + dir.file("ref.npz") + " --eps-scale 1.017"),
                            &log),
            0)
      << log;
  EXPECT_NE(log.find("2 of 1000 ancestral steps from data " + dir.file("ref.npz") + ", eps scale 1.017"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("batch 2/2 step 2/2"), std::string::npos) << log;
  const auto arrays = read_npz(dir.file("s.npz"));
  EXPECT_EQ(arrays.at("arr_0").descr, "|u1");
  EXPECT_EQ(arrays.at("arr_0").shape, (std::vector<int64_t>{3, 8, 8, 3}));
  // From noise with a linear-in-i scale on a respaced chain.
  ASSERT_EQ(test::repro_cli(sample_args(dir, "n.npz", "--steps 10 --eps-scale 1,0.002 --quiet"), &log), 0) << log;
  EXPECT_NE(log.find("10 ancestral steps, eps scale 1+0.002i"), std::string::npos) << log;
}

TEST(SampleStartCli, BadOptionsAreExit2NamingThem) {
  test::TempDir dir;
  ASSERT_TRUE(test::write_numpy_images(dir, "ref.npz", 4, 3));
  std::ofstream(dir.file("m.yaml")) << test::kTinyUnet8Yaml;
  const std::string ref = dir.file("ref.npz");
  struct Bad {
    std::string extra, says;
  };
  for (const Bad& b :
       {Bad{"--eps-scale abc", "--eps-scale"}, Bad{"--eps-scale 1,-0.01", "--eps-scale"}, Bad{"--start 5", "--data"},
        Bad{"--data " + ref, "--data"}, Bad{"--start 5 --data " + ref + " --ddim", "--start"},
        Bad{"--start 5 --data " + ref + " --steps 50", "--start"}, Bad{"--start 1001 --data " + ref, "--start"}}) {
    std::string log;
    EXPECT_EQ(test::repro_cli(sample_args(dir, "bad.npz", b.extra), &log), 2) << b.extra << "\n" << log;
    EXPECT_NE(log.find(b.says), std::string::npos) << b.extra << "\n" << log;
    EXPECT_FALSE(fs::exists(dir.file("bad.npz"))) << b.extra;
  }
}
