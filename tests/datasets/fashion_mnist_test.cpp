// Fashion-MNIST IDX files written with Python's gzip + struct, read back padded to 32x32x3 and
// compared with numpy's np.pad + np.repeat; Debian's real files when installed; damage named.
#include "datasets/fashion_mnist.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "base/util/errors.h"
#include "base/util/npy.h"
#include "tests/support/test_support.h"

namespace repro::datasets {
namespace {

namespace fs = std::filesystem;

// idx(path, array): the IDX format by hand (big-endian dims), gzipped.
const char* kIdx = R"(
import gzip, os, struct
import numpy as np

def idx(path, a, magic=None, opener=gzip.open):
    a = np.asarray(a, np.uint8)
    with opener(path, "wb") as f:
        f.write(struct.pack(">I", magic if magic is not None else 0x800 + a.ndim))
        f.write(struct.pack(">" + "I" * a.ndim, *a.shape))
        f.write(a.tobytes())

def padded(images):  # the quickstart's 32x32x3
    return np.repeat(np.pad(images, ((0, 0), (2, 2), (2, 2)))[..., None], 3, axis=-1)
)";

TEST(FashionMnist, PadsTo32AndRepeatsToThreeChannels) {
  test::TempDir dir;
  ASSERT_EQ(test::run_python(std::string(kIdx) + R"(
rng = np.random.default_rng(0)
for split, n in [("train", 7), ("t10k", 3)]:
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, n, dtype=np.uint8)
    idx("%s-images-idx3-ubyte.gz" % split, images)
    idx("%s-labels-idx1-ubyte.gz" % split, labels)
    np.save("want_%s.npy" % split, padded(images))
    np.save("labels_%s.npy" % split, labels.astype(np.int64))
)",
                             dir.path()),
            0);
  for (const auto& [split, tag, n] :
       {std::tuple{FashionMnistSplit::kTrain, "train", 7}, std::tuple{FashionMnistSplit::kTest, "t10k", 3}}) {
    LabeledImages got(32, 32);
    EXPECT_EQ(read_fashion_mnist(dir.path().string(), split, got.sink()), n);
    const NpyArray want = read_npy(dir.file(std::string("want_") + tag + ".npy"));
    ASSERT_EQ(want.shape, (std::vector<int64_t>{n, 32, 32, 3}));
    EXPECT_TRUE(std::equal(got.images.begin(), got.images.end(), reinterpret_cast<const uint8_t*>(want.data.data())));
    EXPECT_EQ(got.labels, as_int64(read_npy(dir.file(std::string("labels_") + tag + ".npy"))));
  }
}

// Debian's dataset-fashion-mnist: the published counts, and the first images as numpy reads them
// (the package's own utils/mnist_reader.py way: frombuffer at offsets 8 and 16).
TEST(FashionMnist, DebianPackageFiles) {
  if (!fs::exists(fashion_mnist_images_path(kFashionMnistDebianDir, FashionMnistSplit::kTest)))
    GTEST_SKIP() << "dataset-fashion-mnist is not installed (scripts/setup.sh installs it)";
  test::TempDir dir;
  ASSERT_EQ(test::run_python(std::string(kIdx) + R"(
d = "/usr/share/datasets/fashion-mnist/"
images = np.frombuffer(gzip.open(d + "t10k-images-idx3-ubyte.gz").read(), np.uint8, offset=16).reshape(-1, 28, 28)
labels = np.frombuffer(gzip.open(d + "t10k-labels-idx1-ubyte.gz").read(), np.uint8, offset=8)
np.save("want.npy", padded(images[:50]))
np.save("labels.npy", labels.astype(np.int64))
)",
                             dir.path()),
            0);
  for (const auto split : {FashionMnistSplit::kTrain, FashionMnistSplit::kTest}) {
    LabeledImages got(32, 32);
    EXPECT_EQ(read_fashion_mnist(kFashionMnistDebianDir, split, got.sink()),
              kFashionMnistPublishedCount[split == FashionMnistSplit::kTest]);
    if (split != FashionMnistSplit::kTest) continue;
    const NpyArray want = read_npy(dir.file("want.npy"));
    EXPECT_TRUE(std::equal(want.data.begin(), want.data.end(), reinterpret_cast<const char*>(got.images.data())));
    EXPECT_EQ(got.labels, as_int64(read_npy(dir.file("labels.npy"))));
  }
}

TEST(FashionMnist, DamageIsNamed) {
  test::TempDir dir;
  ASSERT_EQ(test::run_python(std::string(kIdx) + R"(
rng = np.random.default_rng(1)
images = rng.integers(0, 256, (4, 28, 28), dtype=np.uint8)
os.makedirs("cut"); os.makedirs("shape"); os.makedirs("count"); os.makedirs("magic"); os.makedirs("label")
for d in ["cut", "shape", "count", "magic", "label"]:
    idx(d + "/train-images-idx3-ubyte.gz", images)
    idx(d + "/train-labels-idx1-ubyte.gz", [1, 2, 3, 4])
raw = open("cut/train-images-idx3-ubyte.gz", "rb").read()
open("cut/train-images-idx3-ubyte.gz", "wb").write(raw[: len(raw) - 40])        # truncated gzip stream
idx("shape/train-images-idx3-ubyte.gz", rng.integers(0, 256, (4, 32, 32)))       # not 28x28
idx("count/train-labels-idx1-ubyte.gz", [1, 2, 3])                               # 3 labels, 4 images
idx("magic/train-images-idx3-ubyte.gz", images, magic=0x0D03)                    # float IDX
idx("label/train-labels-idx1-ubyte.gz", [1, 2, 11, 4])
)",
                             dir.path()),
            0);
  const auto error = [&](const std::string& sub) {
    return test::error_message(
        [&] { read_fashion_mnist(dir.file(sub), FashionMnistSplit::kTrain, [](const uint8_t*, int64_t) {}); });
  };
  std::string msg = error("cut");
  EXPECT_NE(msg.find(dir.file("cut/train-images-idx3-ubyte.gz")), std::string::npos) << msg;
  EXPECT_NE(msg.find("ends at byte"), std::string::npos) << msg;
  msg = error("shape");
  EXPECT_NE(msg.find(dir.file("shape/train-images-idx3-ubyte.gz")), std::string::npos) << msg;
  EXPECT_NE(msg.find("[4, 32, 32]"), std::string::npos) << msg;
  msg = error("count");
  EXPECT_NE(msg.find(dir.file("count/train-labels-idx1-ubyte.gz")), std::string::npos) << msg;
  msg = error("magic");
  EXPECT_NE(msg.find("not an unsigned-byte IDX"), std::string::npos) << msg;
  msg = error("label");
  EXPECT_NE(msg.find("label 2 is 11"), std::string::npos) << msg;
  msg = error("absent");
  EXPECT_NE(msg.find(dir.file("absent/train-images-idx3-ubyte.gz")), std::string::npos) << msg;
  EXPECT_THROW(read_fashion_mnist(dir.file("cut"), FashionMnistSplit::kTrain, [](const uint8_t*, int64_t) {}), IoError);
  EXPECT_THROW(read_fashion_mnist(dir.file("shape"), FashionMnistSplit::kTrain, [](const uint8_t*, int64_t) {}),
               DataError);
}

// Header dims a file cannot back are rejected before anything is allocated: 60,000 x 65535 x 65535
// (a 257 TB claim: not 28x28), 4 dims whose product overflows 64 bits, and 2^32-1 28x28 images
// (3.4 TB) claimed by a file of a few dozen bytes; each names the file and its dims.
TEST(FashionMnist, HeaderDimsAreCheckedBeforeAllocating) {
  test::TempDir dir;
  ASSERT_EQ(test::run_python(std::string(kIdx) + R"(
def header(path, magic, dims):
    with gzip.open(path, "wb") as f:
        f.write(struct.pack(">I", magic) + struct.pack(">" + "I" * len(dims), *dims) + bytes(64))
header("wide.gz", 0x803, [60000, 65535, 65535])
header("overflow.gz", 0x804, [0xFFFFFFFF] * 4)
header("many.gz", 0x803, [0xFFFFFFFF, 28, 28])
)",
                             dir.path()),
            0);
  const std::pair<const char*, const char*> cases[] = {
      {"wide.gz", "images are [60000, 65535, 65535], Fashion-MNIST's are [N, 28, 28]"},
      {"overflow.gz", "images are [4294967295, 4294967295, 4294967295, 4294967295]"},
      {"many.gz", "IDX dims [4294967295, 28, 28] imply 3367254359280 bytes, more than a gzip file of"},
  };
  for (const auto& [name, fragment] : cases) {
    const std::string path = dir.file(name);
    const std::string msg = test::error_message([&] { read_idx_gz(path, {28, 28}, "images"); });
    EXPECT_NE(msg.find(path + ": " + fragment), std::string::npos) << msg;
    EXPECT_THROW(read_idx_gz(path, {28, 28}, "images"), DataError) << name;
  }
  // Four dims of 2^32-1 as a 4-dim item shape: the shape matches, the product overflows.
  const std::string path = dir.file("overflow.gz");
  const std::string msg = test::error_message([&] { read_idx_gz(path, {0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}, "x"); });
  EXPECT_NE(msg.find(path + ": IDX dims [4294967295, 4294967295, 4294967295, 4294967295]: "), std::string::npos) << msg;
  EXPECT_NE(msg.find("overflows 64 bits"), std::string::npos) << msg;
}

}  // namespace
}  // namespace repro::datasets
