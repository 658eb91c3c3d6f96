#include "datasets/image_decode.h"

#include <cstring>

#include "base/util/errors.h"
#include "base/util/file_io.h"
#include "datasets/format_decoders.h"

namespace repro::datasets {
namespace {

bool starts_with(const uint8_t* data, size_t size, const char* magic, size_t n, size_t at = 0) {
  return size >= at + n && std::memcmp(data + at, magic, n) == 0;
}

}  // namespace

RgbImage decode_image(const uint8_t* data, size_t size, const std::string& name) {
  // The same signatures Pillow's plugins accept (PngImagePlugin, JpegImagePlugin, GifImagePlugin,
  // WebPImagePlugin _accept).
  if (starts_with(data, size, "\x89PNG\r\n\x1a\n", 8)) return detail::decode_png(data, size, name);
  if (starts_with(data, size, "\xff\xd8\xff", 3)) return detail::decode_jpeg(data, size, name);
  if (starts_with(data, size, "GIF87a", 6) || starts_with(data, size, "GIF89a", 6))
    return detail::decode_gif(data, size, name);
  if (starts_with(data, size, "RIFF", 4) && starts_with(data, size, "WEBP", 4, 8))
    return detail::decode_webp(data, size, name);
  throw IoError(name + ": not a PNG, JPEG, GIF or WebP image (" +
                (size == 0 ? std::string("empty file") : "unrecognised content") + ")");
}

RgbImage decode_image_file(const std::string& path) {
  const std::string bytes = read_file(path);
  return decode_image(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), path);
}

}  // namespace repro::datasets
