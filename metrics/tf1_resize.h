#pragma once
// The evaluator's image input: TF1's tf.image.resize_bilinear (align_corners=False, legacy: no
// half-pixel centres) as the ResizeBilinear node inside classify_image_graph_def.pb applies it, then
// the graph's (x - 128) / 128. Not PyTorch's interpolate, whose half-pixel rule shifts the image.
//
// TF1's rule (resize_bilinear_op.cc, compute_interpolation_weights + compute_lerp), all float32:
//   scale = in / out;  src = i * scale;  lower = floor(src);  upper = min(ceil(src), in - 1);
//   lerp = src - floor(src);
//   top = tl + (tr - tl) * x_lerp;  bottom = bl + (br - bl) * x_lerp;  out = top + (bottom - top) * y_lerp
#include <cstdint>
#include <vector>

namespace repro::metrics {

// The side the FID Inception takes.
constexpr int64_t kInceptionSize = 299;

// images: [n, in_h, in_w, c] uint8 (cast to float, as the evaluator feeds float32 at ExpandDims:0)
// -> [n, out_h, out_w, c] float32. Throws DataError for a size < 1 or a null pointer with n > 0.
std::vector<float> resize_bilinear_tf1(const uint8_t* images, int64_t n, int64_t in_h, int64_t in_w, int64_t c,
                                       int64_t out_h, int64_t out_w);

// The network input: [n, h, w, 3] uint8 in [0, 255] -> resize_bilinear_tf1 to 299 x 299 ->
// (x - 128) / 128, [n, 299, 299, 3] float32 NHWC in [-1, 1). Throws DataError when channels != 3.
std::vector<float> inception_input(const uint8_t* images, int64_t n, int64_t h, int64_t w, int64_t channels = 3);

}  // namespace repro::metrics
