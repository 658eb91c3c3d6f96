// read_state_dict_records (the pre-flight's key check), then read_state_dict_file and every tensor
// gathered as a checkpoint loader does.
#include "base/util/torch_pickle.h"
#include "tests/fuzz/fuzz_targets.h"

namespace repro::fuzz {

int fuzz_torch_pickle(const uint8_t* data, size_t size) {
  const std::string path = write_scratch_file("fuzz.pt", data, size);
  expect_only_repro_errors([&] {
    for (const TensorRecord& t : read_state_dict_records(path).tensors) consume(t.name.data(), t.name.size());
  });
  return expect_only_repro_errors([&] {
    const StateDictFile sd = read_state_dict_file(path);
    for (const TensorRecord& t : sd.tensors) {
      (void)sd.find(t.name);
      try {
        (void)torch_dtype_size(t.dtype);
        const std::string bytes = sd.contiguous_bytes(t);
        consume(bytes.data(), bytes.size());
      } catch (const Error&) {  // one bad tensor: go on with the others
      }
    }
  });
}

}  // namespace repro::fuzz
