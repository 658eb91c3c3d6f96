#include "datasets/fashion_mnist.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>

#include "base/util/errors.h"
#include "base/util/limits.h"

namespace repro::datasets {
namespace {

using GzFile = std::unique_ptr<gzFile_s, decltype(&gzclose)>;

std::string gz_error(gzFile f) {
  int code = 0;
  const char* s = gzerror(f, &code);
  return code == Z_ERRNO ? std::strerror(errno) : (s && *s ? s : "unexpected end of data");
}

// Reads exactly `n` bytes at uncompressed offset `offset`, or throws naming the offset reached.
void read_exact(gzFile f, void* out, size_t n, uint64_t offset, uint64_t total, const std::string& path) {
  auto* p = static_cast<char*>(out);
  while (n > 0) {
    const unsigned chunk = static_cast<unsigned>(std::min<size_t>(n, 1u << 30));
    const int got = gzread(f, p, chunk);
    if (got <= 0)
      throw IoError(path + ": data ends at byte " + std::to_string(offset) + ", the IDX header implies " +
                    std::to_string(total) + " (truncated or corrupt: " + gz_error(f) + ")");
    p += got;
    n -= static_cast<size_t>(got);
    offset += static_cast<uint64_t>(got);
  }
}

uint32_t big_endian_u32(const uint8_t* b) {
  return (uint32_t(b[0]) << 24) | (uint32_t(b[1]) << 16) | (uint32_t(b[2]) << 8) | uint32_t(b[3]);
}

std::string shape_text(const std::vector<int64_t>& d) {
  std::string s = "[";
  for (size_t i = 0; i < d.size(); ++i) s += (i ? ", " : "") + std::to_string(d[i]);
  return s + "]";
}

// The bytes the header's dims imply, checked before anything is allocated: the dims must be
// [N, item_dims...], their product must not overflow, and the data must fit the file: deflate
// expands at most 1032:1, so a gzip file (or a plain one, which zlib reads too) cannot hold more
// than 1032 x its own size. Then the allocation ceiling.
uint64_t checked_data_bytes(const std::string& path, const std::vector<int64_t>& dims,
                            const std::vector<int64_t>& item_dims, const std::string& what) {
  if (dims.size() != item_dims.size() + 1 || !std::equal(item_dims.begin(), item_dims.end(), dims.begin() + 1)) {
    std::string want = "[N";
    for (int64_t d : item_dims) want += ", " + std::to_string(d);
    throw DataError(path + ": " + what + " are " + shape_text(dims) + ", Fashion-MNIST's are " + want + "]");
  }
  uint64_t numel = 1;
  for (int64_t d : dims) numel = checked_mul(numel, static_cast<uint64_t>(d), path + ": IDX dims " + shape_text(dims));
  std::error_code ec;
  const uint64_t file_size = std::filesystem::file_size(path, ec);
  if (!ec && numel > file_size * ResourceLimits::kMaxDeflateRatio)
    throw DataError(path + ": IDX dims " + shape_text(dims) + " imply " + std::to_string(numel) +
                    " bytes, more than a gzip file of " + std::to_string(file_size) + " bytes can hold (" +
                    std::to_string(ResourceLimits::kMaxDeflateRatio) + " x its size)");
  return check_alloc(numel, path + ": IDX data " + shape_text(dims));
}

}  // namespace

IdxArray read_idx_gz(const std::string& path, const std::vector<int64_t>& item_dims, const std::string& what) {
  GzFile f(gzopen(path.c_str(), "rb"), &gzclose);
  if (!f) throw IoError("cannot read " + path + ": " + std::strerror(errno));
  uint8_t magic[4];
  read_exact(f.get(), magic, 4, 0, 4, path);
  if (magic[0] != 0 || magic[1] != 0 || magic[2] != 0x08 || magic[3] < 1 || magic[3] > 4)
    throw IoError(path + ": not an unsigned-byte IDX file (magic " + std::to_string(big_endian_u32(magic)) +
                  ", expected 0x0000080N)");
  IdxArray a;
  std::vector<uint8_t> dims(4 * magic[3]);
  read_exact(f.get(), dims.data(), dims.size(), 4, 4 + dims.size(), path);
  for (int d = 0; d < magic[3]; ++d) a.dims.push_back(big_endian_u32(dims.data() + 4 * d));
  const uint64_t header = 4 + dims.size(), numel = checked_data_bytes(path, a.dims, item_dims, what);
  const uint64_t total = header + numel;
  // Grown as the data arrives, so a header that overstates a short file costs at most one chunk.
  constexpr uint64_t kChunk = uint64_t{64} << 20;
  for (uint64_t done = 0; done < numel;) {
    const uint64_t step = std::min(numel - done, kChunk);
    a.data.resize(done + step);
    read_exact(f.get(), a.data.data() + done, step, header + done, total, path);
    done += step;
  }
  char extra;
  if (gzread(f.get(), &extra, 1) != 0)
    throw IoError(path + ": data continues after byte " + std::to_string(total) + ", the size its IDX header implies");
  return a;
}

std::string fashion_mnist_images_path(const std::string& dir, FashionMnistSplit split) {
  return dir + (split == FashionMnistSplit::kTrain ? "/train" : "/t10k") + "-images-idx3-ubyte.gz";
}
std::string fashion_mnist_labels_path(const std::string& dir, FashionMnistSplit split) {
  return dir + (split == FashionMnistSplit::kTrain ? "/train" : "/t10k") + "-labels-idx1-ubyte.gz";
}

int64_t read_fashion_mnist(const std::string& dir, FashionMnistSplit split, const ImageSink& sink) {
  const std::string images_path = fashion_mnist_images_path(dir, split);
  const std::string labels_path = fashion_mnist_labels_path(dir, split);
  const IdxArray images = read_idx_gz(images_path, {28, 28}, "images");
  const IdxArray labels = read_idx_gz(labels_path, {}, "labels");
  if (labels.dims[0] != images.dims[0])
    throw DataError(labels_path + ": labels are " + shape_text(labels.dims) + ", expected [" +
                    std::to_string(images.dims[0]) + "] to match " + images_path);
  constexpr int kPad = (kFashionMnistPaddedSize - 28) / 2;
  uint8_t out[kFashionMnistPaddedSize * kFashionMnistPaddedSize * 3];
  for (int64_t i = 0; i < images.dims[0]; ++i) {
    if (labels.data[i] > 9)
      throw DataError(labels_path + ": label " + std::to_string(i) + " is " + std::to_string(labels.data[i]) +
                      ", Fashion-MNIST labels are 0..9");
    std::memset(out, 0, sizeof out);
    const uint8_t* grey = images.data.data() + i * 28 * 28;
    for (int y = 0; y < 28; ++y)
      for (int x = 0; x < 28; ++x) {
        uint8_t* px = out + ((y + kPad) * kFashionMnistPaddedSize + (x + kPad)) * 3;
        px[0] = px[1] = px[2] = grey[y * 28 + x];
      }
    sink(out, labels.data[i]);
  }
  return images.dims[0];
}

}  // namespace repro::datasets
