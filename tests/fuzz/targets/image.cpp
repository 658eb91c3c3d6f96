// decode_image: the format found from the content, then its decoder.
#include "datasets/image_decode.h"
#include "tests/fuzz/fuzz_targets.h"

namespace repro::fuzz {

int fuzz_image(const uint8_t* data, size_t size) {
  return fuzz_image_decoder(datasets::decode_image, data, size, "fuzz.img");
}

}  // namespace repro::fuzz
