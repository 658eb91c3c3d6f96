// parse_npy over the bytes, then the typed views a caller takes of the array.
#include <string>

#include "base/util/npy.h"
#include "tests/fuzz/fuzz_targets.h"

namespace repro::fuzz {

int fuzz_npy(const uint8_t* data, size_t size) {
  return expect_only_repro_errors([&] {
    const NpyArray a = parse_npy(std::string(reinterpret_cast<const char*>(data), size), "fuzz.npy");
    consume(a.data.data(), a.data.size());
    (void)shape_repr(a.shape);
    (void)a.numel();
    (void)a.word_size();
    const auto f = as_float64(a, "fuzz.npy");
    consume(f.data(), f.size() * sizeof(double));
    const auto i = as_int64(a, "fuzz.npy");
    consume(i.data(), i.size() * sizeof(int64_t));
  });
}

}  // namespace repro::fuzz
