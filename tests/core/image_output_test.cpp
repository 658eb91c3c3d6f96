// The sample -> uint8 conversion both ways against hand-computed bytes: ADM's truncation
// (((x + 1) * 127.5).clamp(0, 255).to(uint8)) and torchvision save_image's rounding
// ((((x + 1) / 2).clamp(0, 1) * 255 + 0.5).clamp(0, 255).to(uint8)), at the ends, out of range
// and on either side of each rule's boundary; the NCHW -> NHWC layout; the option's errors.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <vector>

#include "base/util/errors.h"
#include "core/diffusion/image_output.h"

using namespace repro;
using repro::core::ToUint8;

namespace {

// x such that (x + 1) * 127.5 = v, i.e. v on the 0..255 scale.
float at_scale(double v) { return static_cast<float>(v / 127.5 - 1.0); }

// The bytes of a row of values, converted as one [1, 1, 1, N] image.
std::vector<int> bytes_of(const std::vector<float>& xs, ToUint8 mode) {
  const torch::Tensor x = torch::tensor(xs).reshape({1, 1, 1, static_cast<int64_t>(xs.size())});
  const torch::Tensor u = core::to_uint8_nhwc(x, mode);
  EXPECT_EQ(u.scalar_type(), torch::kUInt8);
  std::vector<int> out;
  for (int64_t i = 0; i < u.numel(); ++i) out.push_back(u.flatten()[i].item<int>());
  return out;
}

// -1, 1, 0 (127.5 on the scale), out of range on both sides, then values just below and above
// .5 and integer boundaries: 9.99, 10.49, 10.51, 10.99, 11.01, 0.49, 0.51, 254.49, 254.51.
const std::vector<float> kXs = {-1.0f,
                                1.0f,
                                0.0f,
                                -1.5f,
                                2.0f,
                                at_scale(9.99),
                                at_scale(10.49),
                                at_scale(10.51),
                                at_scale(10.99),
                                at_scale(11.01),
                                at_scale(0.49),
                                at_scale(0.51),
                                at_scale(254.49),
                                at_scale(254.51)};

}  // namespace

TEST(ImageOutput, TruncateIsAdmSamplePy) {
  const std::vector<int> want = {0, 255, 127, 0, 255, 9, 10, 10, 10, 11, 0, 0, 254, 254};
  EXPECT_EQ(bytes_of(kXs, ToUint8::kTruncate), want);
}

TEST(ImageOutput, RoundIsTorchvisionSaveImage) {
  // v + 0.5 truncated: 0.5 -> 0, 255.5 -> 255 (clamped), 128; out of range clamps to 0 and 255.
  const std::vector<int> want = {0, 255, 128, 0, 255, 10, 10, 11, 11, 11, 0, 1, 254, 255};
  EXPECT_EQ(bytes_of(kXs, ToUint8::kRound), want);
}

TEST(ImageOutput, TruncateIsTheDefault) {
  EXPECT_EQ(bytes_of({at_scale(10.99)}, ToUint8::kTruncate), std::vector<int>{10});
  const torch::Tensor x = torch::full({1, 1, 1, 1}, at_scale(10.99));
  EXPECT_EQ(core::to_uint8_nhwc(x).item<int>(), 10);
}

TEST(ImageOutput, NchwBecomesNhwc) {
  // [1, 3, 1, 2]: channel c, column w holds v = 10 * c + w + 1 on the 0..255 scale.
  torch::Tensor x = torch::empty({1, 3, 1, 2});
  for (int c = 0; c < 3; ++c)
    for (int w = 0; w < 2; ++w) x[0][c][0][w] = at_scale(10 * c + w + 1 + 0.25);
  for (ToUint8 mode : {ToUint8::kTruncate, ToUint8::kRound}) {
    const torch::Tensor u = core::to_uint8_nhwc(x, mode);
    ASSERT_EQ(u.sizes(), (std::vector<int64_t>{1, 1, 2, 3}));
    for (int c = 0; c < 3; ++c)
      for (int w = 0; w < 2; ++w) EXPECT_EQ(u[0][0][w][c].item<int>(), 10 * c + w + 1) << c << " " << w;
  }
}

TEST(ImageOutput, ParseNamesTheOption) {
  EXPECT_EQ(core::parse_to_uint8("truncate", "--to-uint8"), ToUint8::kTruncate);
  EXPECT_EQ(core::parse_to_uint8("round", "--to-uint8"), ToUint8::kRound);
  try {
    core::parse_to_uint8("nearest", "--to-uint8");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.key_path(), "--to-uint8");
    EXPECT_NE(std::string(e.what()).find("'nearest'"), std::string::npos) << e.what();
  }
}
