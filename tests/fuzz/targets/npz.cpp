// read_npz of the bytes as a file.
#include "base/util/npy.h"
#include "tests/fuzz/fuzz_targets.h"

namespace repro::fuzz {

int fuzz_npz(const uint8_t* data, size_t size) {
  const std::string path = write_scratch_file("fuzz.npz", data, size);
  return expect_only_repro_errors([&] {
    for (const auto& [key, a] : read_npz(path)) {
      consume(key.data(), key.size());
      consume(a.data.data(), a.data.size());
      (void)a.numel();
    }
  });
}

}  // namespace repro::fuzz
