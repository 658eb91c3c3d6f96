// TF1 resize_bilinear (align_corners=False): a hand-computed case, the definition evaluated
// independently in double, and the grid_sample formulation NVIDIA's TorchScript Inception uses.
#include "metrics/tf1_resize.h"

#include <gtest/gtest.h>

#include <cmath>
#include <iostream>
#include <random>

#include "base/util/errors.h"
#include "tests/metrics/metrics_test_util.h"
#include "tests/support/test_support.h"

namespace repro::metrics {
namespace {

TEST(Tf1Resize, HandComputedUpscale) {
  // [[0, 100], [200, 40]] to 4x4: source coordinate i * 2 / 4 = 0, 0.5, 1, 1.5; the last clamps to
  // row/column 1, so the bottom and right edges repeat (no half-pixel centring).
  const uint8_t in[4] = {0, 100, 200, 40};
  const std::vector<float> out = resize_bilinear_tf1(in, 1, 2, 2, 1, 4, 4);
  const std::vector<float> want = {0, 50, 100, 100, 100, 85, 70, 70, 200, 120, 40, 40, 200, 120, 40, 40};
  EXPECT_EQ(out, want);
}

// out(y, x) = bilinear sample at (y * in_h / out_h, x * in_w / out_w), neighbours clamped to the
// image, in double.
double reference_pixel(const std::vector<uint8_t>& img, int h, int w, int c, int oh, int ow, int y, int x, int ch) {
  const double sy = static_cast<double>(y) * h / oh, sx = static_cast<double>(x) * w / ow;
  const int y0 = static_cast<int>(std::floor(sy)), x0 = static_cast<int>(std::floor(sx));
  const int y1 = std::min(y0 + 1, h - 1), x1 = std::min(x0 + 1, w - 1);
  const double fy = sy - y0, fx = sx - x0;
  auto at = [&](int yy, int xx) { return static_cast<double>(img[(yy * w + xx) * c + ch]); };
  return (1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x1)) + fy * ((1 - fx) * at(y1, x0) + fx * at(y1, x1));
}

std::vector<uint8_t> random_images(int n, int h, int w, uint64_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> img(static_cast<size_t>(n) * h * w * 3);
  for (auto& v : img) v = static_cast<uint8_t>(rng() & 255);
  return img;
}

TEST(Tf1Resize, EqualsTheDefinitionForUpAndDownscales) {
  struct Size {
    int h, w, oh, ow;
  };
  for (const Size s : {Size{32, 32, 299, 299}, Size{64, 48, 299, 299}, Size{400, 350, 299, 299}, Size{5, 7, 3, 11}}) {
    const std::vector<uint8_t> img = random_images(1, s.h, s.w, s.h * 131 + s.w);
    const std::vector<float> out = resize_bilinear_tf1(img.data(), 1, s.h, s.w, 3, s.oh, s.ow);
    double worst = 0;
    for (int y = 0; y < s.oh; ++y)
      for (int x = 0; x < s.ow; ++x)
        for (int ch = 0; ch < 3; ++ch)
          worst = std::max(
              worst, std::abs(out[(y * s.ow + x) * 3 + ch] - reference_pixel(img, s.h, s.w, 3, s.oh, s.ow, y, x, ch)));
    // float32 scale and lerps: a few 1e-3 grey levels at most.
    EXPECT_LT(worst, 0.02) << s.h << "x" << s.w << " -> " << s.oh << "x" << s.ow;
  }
}

TEST(Tf1Resize, InceptionInputNormalisesAfterResizing) {
  const std::vector<uint8_t> img = random_images(2, 32, 32, 5);
  const std::vector<float> r = resize_bilinear_tf1(img.data(), 2, 32, 32, 3, 299, 299);
  const std::vector<float> x = inception_input(img.data(), 2, 32, 32);
  ASSERT_EQ(x.size(), static_cast<size_t>(2 * 299 * 299 * 3));
  for (size_t i = 0; i < x.size(); i += 997) EXPECT_EQ(x[i], (r[i] - 128.0f) / 128.0f);
  EXPECT_THROW(inception_input(img.data(), 1, 32, 32, 4), DataError);
  EXPECT_THROW(resize_bilinear_tf1(img.data(), 1, 0, 32, 3, 299, 299), DataError);
}

TEST(Tf1Resize, MatchesTheTorchScriptInceptionsGridSample) {
  // NVIDIA's inception-2015-12-05.pt resizes with affine_grid/grid_sample, the translation shifted by
  // 1/W - 1/299 so that it lands on TF1's sample points (paper-spec §7).
  const int n = 2, h = 32, w = 48;
  const std::vector<uint8_t> img = random_images(n, h, w, 9);
  test::TempDir dir;
  write_npy(dir.file("img.npy"), make_npy_array(img, {n, h, w, 3}));
  const char* code = R"PY(
import numpy as np, torch, torch.nn.functional as F
x = torch.from_numpy(np.load("img.npy")).permute(0, 3, 1, 2).to(torch.float32)
N, C, H, W = x.shape
theta = torch.eye(2, 3).unsqueeze(0).repeat(N, 1, 1)
theta[:, 0, 2] += 1 / W - 1 / 299
theta[:, 1, 2] += 1 / H - 1 / 299
grid = F.affine_grid(theta, (N, C, 299, 299), align_corners=False)
y = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
np.save("out.npy", ((y - 128) / 128).permute(0, 2, 3, 1).contiguous().numpy())
)PY";
  ASSERT_EQ(test::run_python(code, dir.path()), 0);
  const std::vector<double> want = test_util::load(dir.file("out.npy"));
  const std::vector<float> got = inception_input(img.data(), n, h, w);
  ASSERT_EQ(got.size(), want.size());
  double worst = 0;
  for (size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::abs(got[i] - want[i]));
  std::cout << "[ resize ] max |ours - grid_sample| on (x - 128) / 128: " << worst << "\n";
  EXPECT_LT(worst, 1e-3);  // 0.128 grey levels
}

}  // namespace
}  // namespace repro::metrics
