// ZipReader: the directory, then every entry read whole.
#include "base/util/zip_archive.h"
#include "tests/fuzz/fuzz_targets.h"

namespace repro::fuzz {

int fuzz_zip(const uint8_t* data, size_t size) {
  const std::string path = write_scratch_file("fuzz.zip", data, size);
  return expect_only_repro_errors([&] {
    const ZipReader zip(path);
    for (const std::string& name : zip.names()) {
      (void)zip.contains(name);
      try {
        const std::string bytes = zip.read(name);
        consume(bytes.data(), bytes.size());
      } catch (const Error&) {  // one bad entry: go on with the others
      }
    }
  });
}

}  // namespace repro::fuzz
