// PNG through stb_image. 8-bit data is lossless, so any correct decoder equals Pillow; the one
// place Pillow differs from a plain 16->8 reduction is 16-bit greyscale, which Pillow opens as
// mode "I" and convert("RGB") clips to 255 (not scales): mirrored here.
#include <algorithm>
#include <memory>

#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC
#define STBI_ONLY_PNG
#define STBI_NO_STDIO
#include <stb/stb_image.h>

#include "core/util/errors.h"
#include "datasets/format_decoders.h"

namespace repro::datasets::detail {
namespace {

struct StbiFree {
  void operator()(void* p) const { stbi_image_free(p); }
};

// IHDR is the first chunk: bytes 16..23 are width, height; 24 bit depth; 25 colour type.
bool is_16bit_greyscale(const uint8_t* data, size_t size) {
  return size >= 26 && data[24] == 16 && data[25] == 0;
}

[[noreturn]] void fail(const std::string& name) {
  throw IoError(name + ": corrupt or truncated PNG (" + stbi_failure_reason() + ")");
}

}  // namespace

RgbImage decode_png(const uint8_t* data, size_t size, const std::string& name) {
  int w = 0, h = 0, channels_in_file = 0;
  const int len = static_cast<int>(size);
  if (static_cast<size_t>(len) != size) throw IoError(name + ": PNG file larger than 2 GiB");
  if (is_16bit_greyscale(data, size)) {
    std::unique_ptr<stbi_us, StbiFree> grey(stbi_load_16_from_memory(data, len, &w, &h, &channels_in_file, 1));
    if (!grey) fail(name);
    RgbImage out(w, h);
    for (size_t i = 0; i < static_cast<size_t>(w) * h; ++i) {
      const uint8_t v = grey.get()[i] > 255 ? 255 : static_cast<uint8_t>(grey.get()[i]);
      out.pixels[3 * i] = out.pixels[3 * i + 1] = out.pixels[3 * i + 2] = v;
    }
    return out;
  }
  // req_comp 3: grey is replicated, palettes looked up, alpha dropped; 16-bit keeps the high byte
  // (Pillow's "RGB;16B" / "RGBA;16B" / "LA;16B" unpackers do the same).
  std::unique_ptr<stbi_uc, StbiFree> rgb(stbi_load_from_memory(data, len, &w, &h, &channels_in_file, 3));
  if (!rgb) fail(name);
  RgbImage out(w, h);
  std::copy(rgb.get(), rgb.get() + out.pixels.size(), out.pixels.begin());
  return out;
}

}  // namespace repro::datasets::detail
