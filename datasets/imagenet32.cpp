#include "datasets/imagenet32.h"

#include <map>

#include "base/util/errors.h"
#include "base/util/limits.h"
#include "base/util/npy.h"
#include "datasets/planar.h"

namespace repro::datasets {

std::vector<std::string> imagenet32_files(const std::string& dir, Imagenet32Split split) {
  if (split == Imagenet32Split::kVal) return {dir + "/val_data.npz"};
  std::vector<std::string> files;
  for (int i = 1; i <= 10; ++i) files.push_back(dir + "/train_data_batch_" + std::to_string(i) + ".npz");
  return files;
}

namespace {

// The first axis of `a`, once its shape is known to describe exactly the bytes it holds: a
// non-negative count whose product with `row_bytes` does not overflow and equals the data's size.
// Every index into the data below relies on this, not on the file's word for it.
int64_t checked_rows(const std::string& what, const NpyArray& a, uint64_t row_bytes) {
  const int64_t n = a.shape.empty() ? -1 : a.shape[0];
  if (n < 0) throw DataError(what + ": shape " + shape_repr(a.shape) + " has no row count");
  const uint64_t bytes = checked_mul(static_cast<uint64_t>(n), row_bytes, what + ": shape " + shape_repr(a.shape));
  if (bytes != a.data.size())
    throw DataError(what + ": shape " + shape_repr(a.shape) + " needs " + std::to_string(bytes) +
                    " bytes, the array holds " + std::to_string(a.data.size()));
  return n;
}

}  // namespace

int64_t read_imagenet32_npz(const std::string& path, const ImageSink& sink) {
  const std::map<std::string, NpyArray> arrays = read_npz(path);
  const auto data_it = arrays.find("data");
  if (data_it == arrays.end()) throw DataError(path + ": no 'data' array (downsampled ImageNet npz has data, labels)");
  const NpyArray& data = data_it->second;
  constexpr int64_t kRow = 3 * kImagenet32Size * kImagenet32Size;
  if (data.descr != "|u1") throw DataError(path + ":data: dtype " + data.descr + ", expected uint8 (|u1)");
  if (data.shape.size() != 2 || data.shape[1] != kRow)
    throw DataError(
        path + ":data: shape " + shape_repr(data.shape) + ", expected (N, 3072) rows of 3x32x32" +
        (data.shape.size() == 2 && data.shape[1] == 3 * 64 * 64 ? " (these are 64x64 rows: Imagenet64x64)" : ""));
  const int64_t n = checked_rows(path + ":data", data, kRow);
  std::vector<int64_t> labels(static_cast<size_t>(n), kNoLabel);
  if (const auto it = arrays.find("labels"); it != arrays.end()) {
    if (it->second.shape != std::vector<int64_t>{n})
      throw DataError(path + ":labels: shape " + shape_repr(it->second.shape) + ", expected (" + std::to_string(n) +
                      ",)");
    if (it->second.descr.find_first_of("iub") != 1)
      throw DataError(path + ":labels: dtype " + it->second.descr + ", expected an integer type");
    checked_rows(path + ":labels", it->second, it->second.word_size());
    labels = as_int64(it->second, path + ":labels");
  }
  const auto* rows = reinterpret_cast<const uint8_t*>(data.data.data());
  uint8_t hwc[kRow];
  for (int64_t i = 0; i < n; ++i) {
    planar_to_hwc(rows + i * kRow, kImagenet32Size, kImagenet32Size, hwc);
    sink(hwc, labels[static_cast<size_t>(i)]);
  }
  return n;
}

int64_t read_imagenet32(const std::string& dir, Imagenet32Split split, const ImageSink& sink) {
  int64_t total = 0;
  for (const std::string& path : imagenet32_files(dir, split)) total += read_imagenet32_npz(path, sink);
  return total;
}

}  // namespace repro::datasets
