// read_exposure_json of the bytes as an exposure task's JSON file (the report reads these).
#include "base/diffusion/exposure_record.h"
#include "tests/fuzz/fuzz_targets.h"

namespace repro::fuzz {

int fuzz_exposure_json(const uint8_t* data, size_t size) {
  const std::string path = write_scratch_file("exposure.json", data, size);
  return expect_only_repro_errors([&] {
    const core::ExposureCurves c = core::read_exposure_json(path);
    consume(c.records.data(), c.records.size() * sizeof(core::ExposureStep));
    consume(c.mode.data(), c.mode.size());
  });
}

}  // namespace repro::fuzz
