// A transcription of Pillow 9.4 libImaging/Resample.c (8 bits per channel path); names follow it.
// Built with -ffp-contract=off: an FMA in the coefficient maths could move a weight by one unit.
#include "datasets/pil_resize.h"

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "base/util/errors.h"

namespace repro::datasets {
namespace {

constexpr int kPrecisionBits = 32 - 8 - 2;

double box_filter(double x) { return (x > -0.5 && x <= 0.5) ? 1.0 : 0.0; }

double bilinear_filter(double x) {
  if (x < 0.0) x = -x;
  return x < 1.0 ? 1.0 - x : 0.0;
}

double bicubic_filter(double x) {
  constexpr double a = -0.5;  // Pillow's choice (Keys / Catmull-Rom)
  if (x < 0.0) x = -x;
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}

struct Filter {
  double (*filter)(double);
  double support;
};

Filter filter_for(Resampling r) {
  switch (r) {
    case Resampling::kBox:
      return {box_filter, 0.5};
    case Resampling::kBilinear:
      return {bilinear_filter, 1.0};
    case Resampling::kBicubic:
      return {bicubic_filter, 2.0};
  }
  return {bicubic_filter, 2.0};
}

// For each output position: the first input tap (xmin), the tap count (xmax) and ksize
// fixed-point weights.
struct Coeffs {
  int ksize = 0;
  std::vector<int> bounds;  // [out_size, 2]: xmin, xmax
  std::vector<int32_t> kk;  // [out_size, ksize]
};

Coeffs precompute_coeffs(int in_size, double in0, double in1, int out_size, const Filter& f) {
  double scale = (in1 - in0) / out_size;
  const double filterscale = scale < 1.0 ? 1.0 : scale;
  const double support = f.support * filterscale;
  Coeffs c;
  c.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  c.bounds.resize(static_cast<size_t>(out_size) * 2);
  c.kk.assign(static_cast<size_t>(out_size) * c.ksize, 0);
  std::vector<double> k(c.ksize);
  for (int xx = 0; xx < out_size; ++xx) {
    const double center = in0 + (xx + 0.5) * scale;
    const double ss = 1.0 / filterscale;
    // Truncation of (x + 0.5), as Pillow's (int) cast.
    // NOLINTNEXTLINE(bugprone-incorrect-roundings): Pillow's rounding, kept bit-exact
    int xmin = static_cast<int>(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    // NOLINTNEXTLINE(bugprone-incorrect-roundings): Pillow's rounding, kept bit-exact
    int xmax = static_cast<int>(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    double ww = 0.0;
    for (int x = 0; x < xmax; ++x) {
      k[x] = f.filter((x + xmin - center + 0.5) * ss);
      ww += k[x];
    }
    for (int x = 0; x < xmax; ++x) {
      if (ww != 0.0) k[x] /= ww;
      // normalize_coeffs_8bpc
      const double v = k[x] * (1 << kPrecisionBits);
      c.kk[static_cast<size_t>(xx) * c.ksize + x] = static_cast<int32_t>(k[x] < 0 ? -0.5 + v : 0.5 + v);
    }
    c.bounds[2 * static_cast<size_t>(xx)] = xmin;
    c.bounds[2 * static_cast<size_t>(xx) + 1] = xmax;
  }
  return c;
}

uint8_t clip8(int in) {
  if (in >= (1 << kPrecisionBits << 8)) return 255;
  if (in <= 0) return 0;
  return static_cast<uint8_t>(in >> kPrecisionBits);
}

// ImagingResampleHorizontal_8bpc over input rows [offset, offset + out.height).
void resample_horizontal(RgbImage& out, const RgbImage& in, int offset, const Coeffs& c) {
  for (int yy = 0; yy < out.height; ++yy) {
    const uint8_t* src = in.row(yy + offset);
    uint8_t* dst = out.row(yy);
    for (int xx = 0; xx < out.width; ++xx) {
      const int xmin = c.bounds[2 * static_cast<size_t>(xx)], xmax = c.bounds[2 * static_cast<size_t>(xx) + 1];
      const int32_t* k = &c.kk[static_cast<size_t>(xx) * c.ksize];
      int ss0 = 1 << (kPrecisionBits - 1), ss1 = ss0, ss2 = ss0;
      for (int x = 0; x < xmax; ++x) {
        const uint8_t* p = src + 3 * static_cast<ptrdiff_t>(x + xmin);
        ss0 += p[0] * k[x];
        ss1 += p[1] * k[x];
        ss2 += p[2] * k[x];
      }
      uint8_t* d = dst + 3 * static_cast<ptrdiff_t>(xx);
      d[0] = clip8(ss0), d[1] = clip8(ss1), d[2] = clip8(ss2);
    }
  }
}

// ImagingResampleVertical_8bpc; `c.bounds` already shifted to rows of `in`.
void resample_vertical(RgbImage& out, const RgbImage& in, const Coeffs& c) {
  for (int yy = 0; yy < out.height; ++yy) {
    const int ymin = c.bounds[2 * static_cast<size_t>(yy)], ymax = c.bounds[2 * static_cast<size_t>(yy) + 1];
    const int32_t* k = &c.kk[static_cast<size_t>(yy) * c.ksize];
    uint8_t* dst = out.row(yy);
    for (int xx = 0; xx < 3 * out.width; xx += 3) {
      int ss0 = 1 << (kPrecisionBits - 1), ss1 = ss0, ss2 = ss0;
      for (int y = 0; y < ymax; ++y) {
        const uint8_t* p = in.row(y + ymin) + xx;
        ss0 += p[0] * k[y];
        ss1 += p[1] * k[y];
        ss2 += p[2] * k[y];
      }
      dst[xx] = clip8(ss0), dst[xx + 1] = clip8(ss1), dst[xx + 2] = clip8(ss2);
    }
  }
}

}  // namespace

RgbImage pil_resize(const RgbImage& image, int width, int height, Resampling resample) {
  if (width < 1 || height < 1)
    throw DataError("pil_resize: target size must be at least 1x1, got " + std::to_string(width) + "x" +
                    std::to_string(height));
  if (image.width < 1 || image.height < 1) throw DataError("pil_resize: empty input image");
  if (width == image.width && height == image.height) return image;
  const Filter f = filter_for(resample);
  // ImagingResampleInner with box = (0, 0, image.width, image.height).
  const bool need_horizontal = width != image.width;
  const bool need_vertical = height != image.height;
  const Coeffs horiz = precompute_coeffs(image.width, 0.0, image.width, width, f);
  Coeffs vert = precompute_coeffs(image.height, 0.0, image.height, height, f);
  const int ybox_first = vert.bounds[0];
  const int ybox_last = vert.bounds[2 * height - 2] + vert.bounds[2 * height - 1];
  RgbImage temp;
  const RgbImage* src = &image;
  if (need_horizontal) {
    for (int i = 0; i < height; ++i) vert.bounds[2 * static_cast<size_t>(i)] -= ybox_first;
    temp = RgbImage(width, ybox_last - ybox_first);
    resample_horizontal(temp, image, ybox_first, horiz);
    src = &temp;
  }
  if (!need_vertical) return temp;
  RgbImage out(src->width, height);
  resample_vertical(out, *src, vert);
  return out;
}

}  // namespace repro::datasets
