// read_imagenet32_npz of the bytes as one batch file.
#include "datasets/imagenet32.h"
#include "tests/fuzz/fuzz_targets.h"

namespace repro::fuzz {

int fuzz_imagenet32(const uint8_t* data, size_t size) {
  const std::string path = write_scratch_file("val_data.npz", data, size);
  return expect_only_repro_errors([&] {
    (void)datasets::read_imagenet32_npz(path, [](const uint8_t* image, int64_t label) {
      consume(image, 3 * 32 * 32);
      (void)label;
    });
  });
}

}  // namespace repro::fuzz
