// decode_image: the format found from the content, then its decoder.
#include <stdexcept>

#include "datasets/image_decode.h"
#include "tests/fuzz/fuzz_targets.h"

namespace repro::fuzz {

int fuzz_image(const uint8_t* data, size_t size) {
  return expect_only_repro_errors([&] {
    const datasets::RgbImage img = datasets::decode_image(data, size, "fuzz.img");
    consume(img.pixels.data(), img.pixels.size());
    if (img.pixels.size() != static_cast<size_t>(img.width) * img.height * 3)
      throw std::logic_error("decoded image: pixels.size() != width * height * 3");
  });
}

}  // namespace repro::fuzz
