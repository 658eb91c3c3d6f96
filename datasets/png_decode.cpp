// PNG through stb_image. 8-bit data is lossless, so any correct decoder equals Pillow; the one
// place Pillow differs from a plain 16->8 reduction is 16-bit greyscale, which Pillow opens as
// mode "I" and convert("RGB") clips to 255 (not scales): mirrored here.
#include <algorithm>
#include <climits>
#include <cstring>
#include <memory>

#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC
#define STBI_ONLY_PNG
#define STBI_NO_STDIO
#include <stb/stb_image.h>

#include "base/util/errors.h"
#include "base/util/limits.h"
#include "datasets/format_decoders.h"

namespace repro::datasets::detail {
namespace {

struct StbiFree {
  void operator()(void* p) const { stbi_image_free(p); }
};

// IHDR is the first chunk: bytes 16..23 are width, height; 24 bit depth; 25 colour type.
bool is_16bit_greyscale(const uint8_t* data, size_t size) { return size >= 26 && data[24] == 16 && data[25] == 0; }

[[noreturn]] void fail(const std::string& name) {
  throw IoError(name + ": corrupt or truncated PNG (" + stbi_failure_reason() + ")");
}

uint32_t big_endian_u32(const uint8_t* b) {
  return (uint32_t(b[0]) << 24) | (uint32_t(b[1]) << 16) | (uint32_t(b[2]) << 8) | uint32_t(b[3]);
}

// stb_image takes the length as an int and allocates the pixels from IHDR before reading any pixel
// data: refuse a file it cannot address, and apply the image-size limit to IHDR's width and height
// first: read here when IHDR is the first chunk (stbi_info rejects images over 2^30 bytes with a
// vague "too large" instead of the limit), else by stbi_info (after Apple's CgBI chunk). A file
// whose header cannot be read is left to stb_image to reject.
int checked_length(const uint8_t* data, size_t size, const std::string& name) {
  if (size > static_cast<size_t>(INT_MAX))
    throw DataError(name + ": PNG file of " + std::to_string(size) + " bytes, stb_image reads at most " +
                    std::to_string(INT_MAX));
  const int len = static_cast<int>(size);
  const std::string field = name + ": PNG IHDR width x height";
  int w = 0, h = 0, channels = 0;
  if (size >= 24 && std::memcmp(data + 12, "IHDR", 4) == 0)
    check_image_size(big_endian_u32(data + 16), big_endian_u32(data + 20), field);
  else if (stbi_info_from_memory(data, len, &w, &h, &channels))
    check_image_size(w, h, field);
  return len;
}

// stb_image trusts chunk lengths: an IDAT claiming 2 GB in a 136-byte file makes it reallocate
// 2 GB before it notices the file ends, and a zero-length first IDAT makes it copy into a null
// buffer. Every chunk up to IEND must fit in the file; IDATs must hold data. A file without PNG's
// signature is left to stb_image to reject.
void check_chunks(const uint8_t* data, size_t size, const std::string& name) {
  static const uint8_t kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (size < 8 || std::memcmp(data, kSignature, 8) != 0) return;
  for (size_t at = 8; at < size;) {
    if (size - at < 12) throw IoError(name + ": truncated PNG (a chunk header at byte " + std::to_string(at) + ")");
    const uint32_t length = big_endian_u32(data + at);
    const std::string type(reinterpret_cast<const char*>(data + at + 4), 4);
    if (length > size - at - 12)
      throw IoError(name + ": corrupt or truncated PNG (chunk at byte " + std::to_string(at) + " claims " +
                    std::to_string(length) + " bytes, " + std::to_string(size - at - 12) + " remain)");
    if (type == "IDAT" && length == 0)
      throw IoError(name + ": corrupt PNG (empty IDAT chunk at byte " + std::to_string(at) + ")");
    if (type == "IEND") return;
    at += 12 + static_cast<size_t>(length);
  }
}

}  // namespace

RgbImage decode_png(const uint8_t* data, size_t size, const std::string& name) {
  int w = 0, h = 0, channels_in_file = 0;
  const int len = checked_length(data, size, name);
  check_chunks(data, size, name);
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
