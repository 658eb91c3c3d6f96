#pragma once
// Fashion-MNIST from its four gzipped IDX files (Debian's dataset-fashion-mnist installs them in
// kFashionMnistDebianDir), for the quickstart: each 28x28 grey image is zero-padded by 2 on every
// side to 32x32, the size the CIFAR-10 model takes, and repeated to 3 channels (R = G = B).
// The padding is black, the background of Fashion-MNIST, so the pad adds no edge.
// IDX (yann.lecun.com/exdb/mnist): big-endian u32 magic 0x00000803 (ubyte, 3 dims) / 0x00000801
// (ubyte, 1 dim), then the dims as big-endian u32, then the bytes row-major.
#include <cstdint>
#include <string>
#include <vector>

#include "datasets/image_sink.h"

namespace repro::datasets {

enum class FashionMnistSplit { kTrain, kTest };

inline constexpr char kFashionMnistDebianDir[] = "/usr/share/datasets/fashion-mnist";
inline constexpr int kFashionMnistPaddedSize = 32;
inline constexpr int64_t kFashionMnistPublishedCount[2] = {60000, 10000};  // train, test

// A ubyte IDX array.
struct IdxArray {
  std::vector<int64_t> dims;
  std::vector<uint8_t> data;  // product(dims) bytes, row-major
};

// Reads a gzipped (or plain: zlib reads both) IDX file of unsigned bytes whose dims must be
// [N, item_dims...] (`what` names the array in messages: "images", "labels"). Throws IoError naming
// the file when it cannot be read, the gzip stream is corrupt, the magic is not a ubyte IDX, or
// the data ends early (stating the byte offset reached and the size the header implies) or
// continues after the array; DataError naming the file and the dims, before anything is
// allocated, when the dims are not [N, item_dims...], their product overflows, exceeds what a
// gzip file of this size can hold (1032 x its size) or the allocation limit (base/util/limits.h).
IdxArray read_idx_gz(const std::string& path, const std::vector<int64_t>& item_dims, const std::string& what);

// The files a split reads in `dir`: {train,t10k}-images-idx3-ubyte.gz, -labels-idx1-ubyte.gz.
std::string fashion_mnist_images_path(const std::string& dir, FashionMnistSplit split);
std::string fashion_mnist_labels_path(const std::string& dir, FashionMnistSplit split);

// Streams the split's images, padded to 32x32x3, with their labels (0..9) to `sink`; returns the
// count. Throws the errors of read_idx_gz, and DataError naming the file when the images are not
// [N, 28, 28], the labels not [N] with the same N, or a label is not 0..9 (naming its index).
int64_t read_fashion_mnist(const std::string& dir, FashionMnistSplit split, const ImageSink& sink);

}  // namespace repro::datasets
