// detail::decode_webp: the webp decoder alone (decode_image's sniffing is the "image" target).
#include <stdexcept>

#include "datasets/format_decoders.h"
#include "tests/fuzz/fuzz_targets.h"

namespace repro::fuzz {

int fuzz_webp(const uint8_t* data, size_t size) {
  return expect_only_repro_errors([&] {
    const datasets::RgbImage img = datasets::detail::decode_webp(data, size, "fuzz.webp");
    consume(img.pixels.data(), img.pixels.size());
    if (img.pixels.size() != static_cast<size_t>(img.width) * img.height * 3)
      throw std::logic_error("decoded image: pixels.size() != width * height * 3");
  });
}

}  // namespace repro::fuzz
