// read_cifar10_archive of the bytes as an archive (tar, tar.gz: libarchive detects the filter),
// both splits.
#include "datasets/cifar10.h"
#include "tests/fuzz/fuzz_targets.h"

namespace repro::fuzz {

int fuzz_cifar_tar(const uint8_t* data, size_t size) {
  const std::string path = write_scratch_file("cifar-10-binary.tar.gz", data, size);
  const datasets::ImageSink sink = [](const uint8_t* image, int64_t label) {
    consume(image, 3 * 32 * 32);
    (void)label;
  };
  expect_only_repro_errors([&] { (void)datasets::read_cifar10_archive(path, datasets::Cifar10Split::kTrain, sink); });
  return expect_only_repro_errors(
      [&] { (void)datasets::read_cifar10_archive(path, datasets::Cifar10Split::kTest, sink); });
}

}  // namespace repro::fuzz
