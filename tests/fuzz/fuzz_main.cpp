// The libFuzzer entry of one target: compiled once per target with REPRO_FUZZ_BODY set to its
// body (tests/fuzz/CMakeLists.txt).
#include <cstddef>
#include <cstdint>

#include "tests/fuzz/fuzz_targets.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  repro::fuzz::init_fuzz_environment();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return repro::fuzz::REPRO_FUZZ_BODY(data, size);
}
