// Downsampled-ImageNet npz files written by numpy (savez and savez_compressed, labels as the
// Python list the official files were saved from), against the reference's np.dstack conversion.
#include "datasets/imagenet32.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/util/errors.h"
#include "base/util/npy.h"
#include "tests/support/test_support.h"

namespace repro::datasets {
namespace {

TEST(Imagenet32, TrainBatchesAndValAsTheReference) {
  test::TempDir dir;
  ASSERT_EQ(test::run_python(R"(
import numpy as np
rng = np.random.default_rng(0)
def reference(x):  # datasets/imagenet32_npz.py
    return np.dstack((x[:, :1024], x[:, 1024:2048], x[:, 2048:])).reshape((x.shape[0], 32, 32, 3))
want, labels = [], []
for i in range(1, 11):
    n = 1 + i % 4
    x = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
    y = [int(v) for v in rng.integers(1, 1001, n)]                  # 1-based, a list as in the originals
    save = np.savez_compressed if i % 2 else np.savez
    save("train_data_batch_%d.npz" % i, data=x, labels=y, mean=x.mean(0))
    want.append(reference(x)); labels += y
np.save("want_train.npy", np.concatenate(want)); np.save("labels_train.npy", np.array(labels, np.int64))
x = rng.integers(0, 256, (5, 3072), dtype=np.uint8)
y = rng.integers(1, 1001, 5).astype(np.int32)                         # another integer dtype
np.savez("val_data.npz", data=x, labels=y)
np.save("want_val.npy", reference(x)); np.save("labels_val.npy", y.astype(np.int64))
)",
                             dir.path()),
            0);
  for (const auto& [split, tag] :
       {std::pair{Imagenet32Split::kTrain, "train"}, std::pair{Imagenet32Split::kVal, "val"}}) {
    LabeledImages got(32, 32);
    const int64_t n = read_imagenet32(dir.path().string(), split, got.sink());
    const NpyArray want = read_npy(dir.file(std::string("want_") + tag + ".npy"));
    ASSERT_EQ(want.shape, (std::vector<int64_t>{n, 32, 32, 3})) << tag;
    EXPECT_TRUE(std::equal(want.data.begin(), want.data.end(), reinterpret_cast<const char*>(got.images.data())))
        << tag;
    EXPECT_EQ(got.labels, as_int64(read_npy(dir.file(std::string("labels_") + tag + ".npy")))) << tag;
  }
}

TEST(Imagenet32, NoLabelsGivesNoLabel) {
  test::TempDir dir;
  ASSERT_EQ(test::run_python(R"(
import numpy as np
np.savez("x.npz", data=np.zeros((2, 3072), np.uint8))
)",
                             dir.path()),
            0);
  LabeledImages got(32, 32);
  EXPECT_EQ(read_imagenet32_npz(dir.file("x.npz"), got.sink()), 2);
  EXPECT_EQ(got.labels, (std::vector<int64_t>{kNoLabel, kNoLabel}));
}

TEST(Imagenet32, BadFilesAreNamed) {
  test::TempDir dir;
  ASSERT_EQ(test::run_python(R"(
import numpy as np
x = np.zeros((3, 3072), np.uint8)
np.savez("ok.npz", data=x, labels=[1, 2, 3])
raw = open("ok.npz", "rb").read(); open("cut.npz", "wb").write(raw[: len(raw) // 2])
np.savez("big.npz", data=np.zeros((3, 12288), np.uint8), labels=[1, 2, 3])   # Imagenet64 offered as 32
np.savez("float.npz", data=x.astype(np.float32), labels=[1, 2, 3])
np.savez("nodata.npz", labels=[1, 2, 3])
np.savez("flabels.npz", data=x, labels=[1.5, 2, 3])
np.savez("nlabels.npz", data=x, labels=[1, 2])
np.savez("olabels.npz", data=x, labels=np.array([1, "a", None], dtype=object))
)",
                             dir.path()),
            0);
  const auto error = [&](const std::string& f) {
    return test::error_message([&] { read_imagenet32_npz(dir.file(f), [](const uint8_t*, int64_t) {}); });
  };
  for (const char* f : {"cut.npz", "big.npz", "float.npz", "nodata.npz", "flabels.npz", "nlabels.npz", "olabels.npz"}) {
    const std::string msg = error(f);
    EXPECT_NE(msg.find(dir.file(f)), std::string::npos) << f << ": " << msg;
  }
  EXPECT_NE(error("big.npz").find("64x64"), std::string::npos) << error("big.npz");
  EXPECT_NE(error("flabels.npz").find(":labels"), std::string::npos) << error("flabels.npz");
  EXPECT_THROW(read_imagenet32_npz(dir.file("cut.npz"), [](const uint8_t*, int64_t) {}), IoError);
  EXPECT_THROW(read_imagenet32_npz(dir.file("big.npz"), [](const uint8_t*, int64_t) {}), DataError);
  // A missing batch stops the split, naming it.
  const std::string msg = test::error_message(
      [&] { read_imagenet32(dir.path().string(), Imagenet32Split::kTrain, [](const uint8_t*, int64_t) {}); });
  EXPECT_NE(msg.find("train_data_batch_1.npz"), std::string::npos) << msg;
}

// A 'data' header whose shape times the row size wraps 64 bits (2^64 / 3072 rounded up rows of
// 3072 bytes = 2^64 + 2048): with the 2048 bytes the wrapped product asks for, the shape must still
// be refused, naming the file and the array, before any row or label is touched.
TEST(Imagenet32, ShapeWhoseProductWrapsIsADataError) {
  test::TempDir dir;
  ASSERT_EQ(test::run_python(R"(
import zipfile
header = "{'descr': '|u1', 'fortran_order': False, 'shape': (6004799503160662, 3072), }"
header += " " * (63 - (10 + len(header)) % 64) + "\n"
npy = b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode() + bytes(2048)
with zipfile.ZipFile("wrap.npz", "w") as z:
    z.writestr("data.npy", npy)
)",
                             dir.path()),
            0);
  const std::string path = dir.file("wrap.npz");
  const std::string msg = test::error_message([&] { read_imagenet32_npz(path, [](const uint8_t*, int64_t) {}); });
  EXPECT_NE(msg.find(path + ":data"), std::string::npos) << msg;
  EXPECT_NE(msg.find("(6004799503160662, 3072)"), std::string::npos) << msg;
  EXPECT_THROW(read_imagenet32_npz(path, [](const uint8_t*, int64_t) {}), DataError);
}

}  // namespace
}  // namespace repro::datasets
