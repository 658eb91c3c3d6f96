#pragma once
// The fuzz targets (tests/fuzz/targets/*.cpp), one per reader of untrusted files. Each body feeds
// the bytes to its reader through the public API (a file under a per-process scratch directory
// where the reader takes a path) and returns 0. repro::Error is the expected outcome of a bad
// input and is caught; anything else escapes (std::bad_alloc, std::logic_error, a library's own
// exception): that, a sanitizer report, a signal or a hang is a finding.
// The same bodies run under libFuzzer (fuzz_main.cpp, -DREPRO_FUZZ=ON) and in the unit tier
// over tests/fuzz/corpus/<name>/ and tests/fuzz/regressions/<name>/ (replay_test.cpp).
#include <cstddef>
#include <cstdint>
#include <string>

namespace repro::datasets {
struct RgbImage;
}

namespace repro::fuzz {

#define REPRO_FUZZ_TARGET(name) int fuzz_##name(const uint8_t* data, size_t size);
#include "fuzz_registry.inc"  // generated from tests/fuzz/targets.txt
#undef REPRO_FUZZ_TARGET

// Sets the limits the fuzzers run under unless the environment already sets them:
// REPRO_MAX_ALLOC_BYTES = 256 MiB, so that a declared size past it meets the resource policy's
// check (a DataError) rather than libFuzzer's 2 GiB malloc limit. Call before any reader.
void init_fuzz_environment();

// A per-process scratch directory (under /dev/shm when writable, else $TMPDIR or /tmp), created
// on first use and removed at exit.
const std::string& scratch_dir();

// Writes `size` bytes to scratch_dir()/name (replacing it); returns the path.
std::string write_scratch_file(const std::string& name, const uint8_t* data, size_t size);

// Empties scratch_dir()/name (a directory), creating it; returns its path.
std::string fresh_scratch_subdir(const std::string& name);

// Reads every byte of [p, p + n) so that a buffer shorter than its stated size is an ASan report
// (or a SIGSEGV for a mapping) here, not silently unused.
void consume(const void* p, size_t n);

// The body of every image decoder's target: decode (a repro::Error is swallowed), read every pixel,
// and check the buffer holds width x height x 3 bytes (std::logic_error otherwise).
using ImageDecoder = datasets::RgbImage (*)(const uint8_t* data, size_t size, const std::string& name);
int fuzz_image_decoder(ImageDecoder decode, const uint8_t* data, size_t size, const std::string& name);

// Runs fn; a repro::Error (expected for bad input) is swallowed, anything else propagates.
// REPRO_FUZZ_VERBOSE=1 prints the swallowed messages (to see what the seeds exercise).
template <typename Fn>
int expect_only_repro_errors(Fn&& fn);

bool verbose();

}  // namespace repro::fuzz

#include <cstdio>

#include "base/util/errors.h"

template <typename Fn>
int repro::fuzz::expect_only_repro_errors(Fn&& fn) {
  try {
    fn();
  } catch (const repro::Error& e) {
    if (repro::fuzz::verbose()) std::fprintf(stderr, "repro::Error: %s\n", e.what());
  }
  return 0;
}
