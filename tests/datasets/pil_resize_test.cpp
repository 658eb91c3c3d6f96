// pil_resize against Pillow 9.4's Image.resize on photo-like images: the accepted bound is at most
// 1 grey level on 99.9% of values; the implementation claims exactness, so max diff must be 0.
#include "datasets/pil_resize.h"

#include <gtest/gtest.h>

#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "base/util/errors.h"
#include "tests/datasets/pillow_reference.h"
#include "tests/support/test_support.h"

namespace repro::datasets {
namespace {

using test_util::pixel_diff;
using test_util::read_rgb_npy;

struct ResizeCase {
  int w, h, out_w, out_h;
};

// Down and up, both passes and one pass, the center_crop_arr sizes (CelebA 178x218 -> 64, the BOX
// halvings, 40x30 -> 32 upscale), tiny images where every tap is a border tap, and a no-op.
const std::vector<ResizeCase> kCases = {
    {64, 64, 32, 32}, {256, 256, 64, 64}, {178, 218, 64, 78}, {178, 218, 89, 109}, {218, 178, 78, 64},
    {40, 30, 43, 32}, {40, 30, 32, 24},   {32, 32, 64, 64},   {64, 40, 64, 20},    {64, 40, 30, 40},
    {7, 5, 3, 2},     {5, 3, 17, 11},     {1, 1, 4, 3},       {3, 1, 1, 1},        {32, 32, 32, 32},
};

struct FilterName {
  Resampling resample;
  const char* name;  // PIL.Image attribute
};
const FilterName kFilters[] = {
    {Resampling::kBox, "BOX"}, {Resampling::kBilinear, "BILINEAR"}, {Resampling::kBicubic, "BICUBIC"}};

class PilResize : public ::testing::Test {
 protected:
  // One Python run writes every input and every Pillow result.
  static void SetUpTestSuite() {
    dir_ = std::make_unique<test::TempDir>();
    std::ostringstream py;
    py << test_util::kPillowPrelude << "cases = [";
    for (const auto& c : kCases) py << "(" << c.w << "," << c.h << "," << c.out_w << "," << c.out_h << "),";
    py << "]\n"
          "for i, (w, h, ow, oh) in enumerate(cases):\n"
          "    im = photo(w, h, seed=i)\n"
          "    save_rgb(f'in_{i}.npy', im)\n"
          "    for f in ['BOX', 'BILINEAR', 'BICUBIC']:\n"
          "        save_rgb(f'out_{i}_{f}.npy', im.resize((ow, oh), resample=getattr(Image, f)))\n";
    python_status_ = test::run_python(py.str(), dir_->path());
  }
  static void TearDownTestSuite() { dir_.reset(); }
  void SetUp() override { ASSERT_EQ(python_status_, 0) << "Pillow fixture script failed"; }

  static std::string file(const std::string& name) { return dir_->file(name); }

  static std::unique_ptr<test::TempDir> dir_;
  static int python_status_;
};
std::unique_ptr<test::TempDir> PilResize::dir_;
int PilResize::python_status_ = -1;

TEST_F(PilResize, MatchesPillowForEveryFilterAndSize) {
  int worst = 0;
  for (size_t i = 0; i < kCases.size(); ++i) {
    const auto& c = kCases[i];
    const RgbImage in = read_rgb_npy(file("in_" + std::to_string(i) + ".npy"));
    ASSERT_EQ(in.width, c.w);
    for (const auto& f : kFilters) {
      const std::string what = std::string(f.name) + " " + std::to_string(c.w) + "x" + std::to_string(c.h) + "->" +
                               std::to_string(c.out_w) + "x" + std::to_string(c.out_h);
      const RgbImage want = read_rgb_npy(file("out_" + std::to_string(i) + "_" + f.name + ".npy"));
      const RgbImage got = pil_resize(in, c.out_w, c.out_h, f.resample);
      ASSERT_EQ(got.width, want.width) << what;
      ASSERT_EQ(got.height, want.height) << what;
      const auto d = pixel_diff(got, want);
      EXPECT_LE(d.frac_over_1, 0.001) << what << " (accepted bound: <= 1 grey level on 99.9%)";
      EXPECT_EQ(d.max, 0) << what;
      worst = std::max(worst, d.max);
    }
  }
  test_util::report("pil_resize, all " + std::to_string(kCases.size() * 3) + " cases", {worst, 0.0});
}

// The comparison can fail: a different filter is far outside the bound on the same inputs.
TEST_F(PilResize, ComparisonDetectsAWrongFilter) {
  const RgbImage in = read_rgb_npy(file("in_2.npy"));  // 178x218 -> 64x78
  const RgbImage want = read_rgb_npy(file("out_2_BICUBIC.npy"));
  const auto d = pixel_diff(pil_resize(in, 64, 78, Resampling::kBilinear), want);
  EXPECT_GT(d.frac_over_1, 0.01);
  EXPECT_GT(d.max, 5);
}

TEST(PilResizeContract, EqualSizeIsACopyAndBadSizesThrow) {
  RgbImage img(3, 2);
  for (size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = static_cast<uint8_t>(i * 13);
  EXPECT_EQ(pil_resize(img, 3, 2, Resampling::kBicubic).pixels, img.pixels);
  EXPECT_THROW(pil_resize(img, 0, 2, Resampling::kBox), DataError);
  EXPECT_THROW(pil_resize(RgbImage(), 2, 2, Resampling::kBox), DataError);
}

}  // namespace
}  // namespace repro::datasets
