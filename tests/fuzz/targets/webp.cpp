// detail::decode_webp: the webp decoder alone (decode_image's sniffing is the "image" target).
#include "datasets/format_decoders.h"
#include "tests/fuzz/fuzz_targets.h"

namespace repro::fuzz {

int fuzz_webp(const uint8_t* data, size_t size) {
  return fuzz_image_decoder(datasets::detail::decode_webp, data, size, "fuzz.webp");
}

}  // namespace repro::fuzz
