// read_reference_batch of the bytes as a reference/sample batch npz.
#include "metrics/reference_batch.h"
#include "tests/fuzz/fuzz_targets.h"

namespace repro::fuzz {

int fuzz_reference_batch(const uint8_t* data, size_t size) {
  const std::string path = write_scratch_file("VIRTUAL_ref.npz", data, size);
  return expect_only_repro_errors([&] {
    const metrics::ReferenceBatch b = metrics::read_reference_batch(path);
    if (b.images) consume(b.images->data.data(), b.images->data.size());
    if (b.stats) {
      consume(b.stats->mu.data(), b.stats->mu.size() * sizeof(double));
      consume(b.stats->sigma.data(), b.stats->sigma.size() * sizeof(double));
    }
    if (b.spatial_stats) {
      consume(b.spatial_stats->mu.data(), b.spatial_stats->mu.size() * sizeof(double));
      consume(b.spatial_stats->sigma.data(), b.spatial_stats->sigma.size() * sizeof(double));
    }
    if (b.pool_3) consume(b.pool_3->data(), b.pool_3->size() * sizeof(float));
  });
}

}  // namespace repro::fuzz
