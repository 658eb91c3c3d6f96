// read_lsun_lmdb on a directory whose data.mdb is the input: the LMDB container itself (meta
// pages, B-tree pages, overflow pages as liblmdb reads them), then every record as lsun_record.
#include "datasets/lsun.h"
#include "tests/fuzz/fuzz_targets.h"

namespace repro::fuzz {

int fuzz_lsun_lmdb(const uint8_t* data, size_t size) {
  fresh_scratch_subdir("lmdb");
  write_scratch_file("lmdb/data.mdb", data, size);
  const std::string dir = scratch_dir() + "/lmdb";
  return expect_only_repro_errors([&] {
    (void)datasets::read_lsun_lmdb(dir, datasets::kLsunImageSize, [](const uint8_t* image, int64_t label) {
      consume(image, size_t{3} * datasets::kLsunImageSize * datasets::kLsunImageSize);
      (void)label;
    });
  });
}

}  // namespace repro::fuzz
