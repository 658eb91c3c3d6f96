// WebP through libwebp's WebPAnimDecoder, the API Pillow 9.4's WebPImagePlugin uses for every WebP
// file (still or animated) when built with animation support, as Debian's is. Frame 0 is the
// canvas in non-premultiplied RGBA; convert("RGB") drops the alpha.
#include <cstring>
#include <memory>

#include <webp/decode.h>
#include <webp/demux.h>

#include "base/util/errors.h"
#include "base/util/limits.h"
#include "datasets/format_decoders.h"

namespace repro::datasets::detail {
namespace {

struct AnimDecoderDelete {
  void operator()(WebPAnimDecoder* d) const { WebPAnimDecoderDelete(d); }
};

}  // namespace

RgbImage decode_webp(const uint8_t* data, size_t size, const std::string& name) {
  WebPAnimDecoderOptions options;
  if (!WebPAnimDecoderOptionsInit(&options)) throw IoError(name + ": libwebp version mismatch");
  // WebPAnimDecoderNew allocates two RGBA canvases from the declared size (VP8X's canvas, up to
  // 2^24 a side) before decoding anything: read the size from the headers alone and check it first.
  int width = 0, height = 0;
  if (!WebPGetInfo(data, size, &width, &height))
    throw IoError(name + ": corrupt or truncated WebP (cannot parse the headers)");
  check_image_size(width, height, name + ": WebP canvas width x height");
  options.color_mode = MODE_RGBA;
  options.use_threads = 0;
  WebPData webp{data, size};
  std::unique_ptr<WebPAnimDecoder, AnimDecoderDelete> decoder(WebPAnimDecoderNew(&webp, &options));
  if (!decoder) throw IoError(name + ": corrupt or truncated WebP (cannot parse the container)");
  WebPAnimInfo info;
  if (!WebPAnimDecoderGetInfo(decoder.get(), &info)) throw IoError(name + ": corrupt WebP (no image info)");
  uint8_t* rgba = nullptr;
  int timestamp = 0;
  if (!WebPAnimDecoderGetNext(decoder.get(), &rgba, &timestamp))
    throw IoError(name + ": corrupt or truncated WebP (cannot decode the first frame)");
  RgbImage out(static_cast<int>(info.canvas_width), static_cast<int>(info.canvas_height));
  const size_t n = static_cast<size_t>(out.width) * out.height;
  for (size_t i = 0; i < n; ++i) std::memcpy(&out.pixels[3 * i], &rgba[4 * i], 3);
  return out;
}

}  // namespace repro::datasets::detail
