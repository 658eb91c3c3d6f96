// read_idx_gz of the bytes (gzipped or plain IDX), as Fashion-MNIST's images ([N, 28, 28]) and
// as its labels ([N]).
#include "datasets/fashion_mnist.h"
#include "tests/fuzz/fuzz_targets.h"

namespace repro::fuzz {

int fuzz_idx(const uint8_t* data, size_t size) {
  const std::string path = write_scratch_file("train-images-idx3-ubyte.gz", data, size);
  for (const auto& [item_dims, what] : {std::pair<std::vector<int64_t>, const char*>{{28, 28}, "images"},
                                        std::pair<std::vector<int64_t>, const char*>{{}, "labels"}}) {
    expect_only_repro_errors([&, &item_dims = item_dims, &what = what] {
      const datasets::IdxArray a = datasets::read_idx_gz(path, item_dims, what);
      consume(a.data.data(), a.data.size());
      consume(a.dims.data(), a.dims.size() * sizeof(int64_t));
    });
  }
  return 0;
}

}  // namespace repro::fuzz
