// One LSUN LMDB value as read_lsun_lmdb handles it (datasets/lsun.cpp): refused unless it starts
// as a WebP file, decoded (detail::decode_webp), then lsun_preprocess to 64 (BOX resize of the
// short side, centre crop). The LMDB container itself is liblmdb's and is not fuzzed.
#include <cstring>
#include <stdexcept>

#include "datasets/format_decoders.h"
#include "datasets/lsun.h"
#include "tests/fuzz/fuzz_targets.h"

namespace repro::fuzz {

int fuzz_lsun_record(const uint8_t* data, size_t size) {
  return expect_only_repro_errors([&] {
    if (size < 12 || std::memcmp(data, "RIFF", 4) != 0 || std::memcmp(data + 8, "WEBP", 4) != 0)
      throw IoError("fuzz: value is not a WebP file");  // what read_lsun_lmdb does
    const datasets::RgbImage img = datasets::detail::decode_webp(data, size, "fuzz lsun record");
    const datasets::RgbImage out = datasets::lsun_preprocess(img, datasets::kLsunImageSize);
    if (out.width != datasets::kLsunImageSize || out.height != datasets::kLsunImageSize ||
        out.pixels.size() != size_t{3} * datasets::kLsunImageSize * datasets::kLsunImageSize)
      throw std::logic_error("lsun_preprocess: output is not 64x64x3");
    consume(out.pixels.data(), out.pixels.size());
  });
}

}  // namespace repro::fuzz
