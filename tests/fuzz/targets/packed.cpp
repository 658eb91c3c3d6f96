// PackedDataset::open on a directory made from the input: the bytes before the first "RPACKED"
// are manifest.json, the rest (from the magic on) packed.bin. Then the first and last image and
// label, and verify_content (reads everything the header claims).
#include <algorithm>
#include <cstring>
#include <fstream>

#include "datasets/packed_dataset.h"
#include "tests/fuzz/fuzz_targets.h"

namespace repro::fuzz {

int fuzz_packed(const uint8_t* data, size_t size) {
  static const char kMagic[] = "RPACKED";
  const uint8_t* end = data + size;
  const uint8_t* split = std::search(data, end, kMagic, kMagic + 7);
  const std::string dir = fresh_scratch_subdir("packed");
  {
    std::ofstream(dir + "/manifest.json", std::ios::binary).write(reinterpret_cast<const char*>(data), split - data);
    std::ofstream(dir + "/packed.bin", std::ios::binary).write(reinterpret_cast<const char*>(split), end - split);
  }
  return expect_only_repro_errors([&] {
    const auto ds = datasets::PackedDataset::open(dir);
    if (ds.size() > 0) {
      consume(ds.image(0), ds.bytes_per_image());
      consume(ds.image(ds.size() - 1), ds.bytes_per_image());
      if (ds.has_labels()) {
        (void)ds.label(0);
        (void)ds.label(ds.size() - 1);
      }
    }
    ds.verify_content();
  });
}

}  // namespace repro::fuzz
