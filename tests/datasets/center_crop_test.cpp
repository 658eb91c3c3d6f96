// center_crop_arr against the reference's Python (verbatim in pillow_reference.h) run by Pillow.
#include "datasets/center_crop.h"

#include <gtest/gtest.h>

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

struct CropCase {
  int w, h, image_size;
  const char* why;
};

const std::vector<CropCase> kCases = {
    {178, 218, 64, "CelebA at 64: no BOX step, BICUBIC down, vertical crop"},
    {256, 256, 64, "two BOX halvings, then BICUBIC is a no-op"},
    {300, 200, 32, "two BOX halvings (150x100, 75x50), then BICUBIC to 48x32"},
    {301, 199, 32, "odd BOX halvings (150x99, 75x49)"},
    {40, 30, 32, "upscale"},
    {32, 32, 32, "no-op"},
    {38, 32, 24, "round(28.5) is 28 in Python (half to even), 29 half-up"},
    {1000, 3, 8, "extreme aspect: 2667x8"},
    {3, 5, 16, "tiny upscale"},
    {128, 128, 128, "FFHQ thumbnails: no-op"},
};

TEST(CenterCropArr, MatchesTheReferenceUnderPillow) {
  test::TempDir dir;
  std::ostringstream py;
  py << test_util::kPillowPrelude << "cases = [";
  for (const auto& c : kCases) py << "(" << c.w << "," << c.h << "," << c.image_size << "),";
  py << "]\n"
        "for i, (w, h, s) in enumerate(cases):\n"
        "    im = photo(w, h, seed=100 + i)\n"
        "    save_rgb(f'in_{i}.npy', im)\n"
        "    np.save(f'out_{i}.npy', center_crop_arr(im, s))\n";
  ASSERT_EQ(test::run_python(py.str(), dir.path()), 0);
  int worst = 0;
  for (size_t i = 0; i < kCases.size(); ++i) {
    const auto& c = kCases[i];
    const std::string what =
        std::to_string(c.w) + "x" + std::to_string(c.h) + " -> " + std::to_string(c.image_size) + " (" + c.why + ")";
    const RgbImage want = read_rgb_npy(dir.file("out_" + std::to_string(i) + ".npy"));
    const RgbImage got = center_crop_arr(read_rgb_npy(dir.file("in_" + std::to_string(i) + ".npy")), c.image_size);
    ASSERT_EQ(got.width, c.image_size) << what;
    ASSERT_EQ(got.height, c.image_size) << what;
    const auto d = pixel_diff(got, want);
    EXPECT_LE(d.frac_over_1, 0.001) << what << " (accepted bound: <= 1 grey level on 99.9%)";
    EXPECT_EQ(d.max, 0) << what;
    worst = std::max(worst, d.max);
  }
  test_util::report("center_crop_arr, " + std::to_string(kCases.size()) + " cases", {worst, 0.0});
}

TEST(CenterCropArr, NoOpKeepsPixelsAndBadSizesThrow) {
  RgbImage img(4, 4);
  for (size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = static_cast<uint8_t>(i * 7);
  EXPECT_EQ(center_crop_arr(img, 4).pixels, img.pixels);
  EXPECT_THROW(center_crop_arr(img, 0), DataError);
  EXPECT_THROW(center_crop_arr(RgbImage(), 4), DataError);
}

}  // namespace
}  // namespace repro::datasets
