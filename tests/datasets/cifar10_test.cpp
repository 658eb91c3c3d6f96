// CIFAR-10 binary records read from a tar.gz that Python's tarfile writes (members in the official
// tarball's scrambled order, plus its non-batch files), against torchvision's own conversion
// reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1); and each kind of damage named.
#include "datasets/cifar10.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/util/errors.h"
#include "base/util/npy.h"
#include "tests/support/test_support.h"

namespace repro::datasets {
namespace {

// make(path, counts, record_bytes, label_of, compress): a cifar-10-batches-bin tarball with
// counts[name] records per batch; also writes want_<split>.npy / labels_<split>.npy.
const char* kMakeArchive = R"(
import io, tarfile
import numpy as np

ORDER = ["data_batch_4.bin", "readme.html", "test_batch.bin", "data_batch_3.bin", "batches.meta.txt",
         "data_batch_2.bin", "data_batch_1.bin", "data_batch_5.bin"]

def make(path, counts, record_bytes=3073, label_of=lambda i: i % 10, mode="w:gz", seed=0):
    rng = np.random.default_rng(seed)
    records = {}
    for name in ORDER:
        if name.endswith(".bin") and name in counts:
            n = counts[name]
            rec = rng.integers(0, 256, (n, record_bytes), dtype=np.uint8)
            rec[:, 0] = [label_of(i) for i in range(n)]
            records[name] = rec
    with tarfile.open(path, mode) as tar:
        info = tarfile.TarInfo("cifar-10-batches-bin")
        info.type = tarfile.DIRTYPE
        tar.addfile(info)
        for name in ORDER:
            if name.endswith(".bin") and name not in counts:
                continue
            data = records[name].tobytes() if name in records else b"airplane\nautomobile\n"
            info = tarfile.TarInfo("cifar-10-batches-bin/" + name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return records

def save_want(records, names, tag):
    rec = np.concatenate([records[n] for n in names])
    np.save("want_%s.npy" % tag, rec[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
    np.save("labels_%s.npy" % tag, rec[:, 0].astype(np.int64))

TRAIN = ["data_batch_%d.bin" % i for i in range(1, 6)]
)";

std::string cifar_error(const std::string& archive, Cifar10Split split = Cifar10Split::kTrain) {
  return test::error_message([&] { read_cifar10_archive(archive, split, [](const uint8_t*, int64_t) {}); });
}

TEST(Cifar10, ReadsTrainAndTestInReferenceOrder) {
  test::TempDir dir;
  ASSERT_EQ(test::run_python(std::string(kMakeArchive) + R"(
counts = {"data_batch_1.bin": 3, "data_batch_2.bin": 2, "data_batch_3.bin": 4, "data_batch_4.bin": 1,
          "data_batch_5.bin": 2, "test_batch.bin": 5}
records = make("cifar-10-binary.tar.gz", counts)
save_want(records, TRAIN, "train")
save_want(records, ["test_batch.bin"], "test")
)",
                             dir.path()),
            0);
  for (const auto& [split, tag, n] :
       {std::tuple{Cifar10Split::kTrain, "train", 12}, std::tuple{Cifar10Split::kTest, "test", 5}}) {
    LabeledImages got(32, 32);
    EXPECT_EQ(read_cifar10_archive(dir.file("cifar-10-binary.tar.gz"), split, got.sink()), n);
    const NpyArray want = read_npy(dir.file(std::string("want_") + tag + ".npy"));
    ASSERT_EQ(want.shape, (std::vector<int64_t>{n, 32, 32, 3}));
    EXPECT_TRUE(std::equal(got.images.begin(), got.images.end(), reinterpret_cast<const uint8_t*>(want.data.data())))
        << tag;
    EXPECT_EQ(got.labels, as_int64(read_npy(dir.file(std::string("labels_") + tag + ".npy")))) << tag;
  }
}

TEST(Cifar10, PlainTarAlsoReads) {
  test::TempDir dir;
  ASSERT_EQ(test::run_python(std::string(kMakeArchive) + R"(
make("c.tar", {"test_batch.bin": 2}, mode="w")
)",
                             dir.path()),
            0);
  LabeledImages got(32, 32);
  EXPECT_EQ(read_cifar10_archive(dir.file("c.tar"), Cifar10Split::kTest, got.sink()), 2);
}

TEST(Cifar10, TruncatedArchiveIsAnIoErrorNamingArchiveAndMember) {
  test::TempDir dir;
  ASSERT_EQ(test::run_python(std::string(kMakeArchive) + R"(
counts = {n: 40 for n in TRAIN + ["test_batch.bin"]}
make("full.tar.gz", counts)
raw = open("full.tar.gz", "rb").read()
open("cut.tar.gz", "wb").write(raw[: len(raw) // 2])
open("text.tar.gz", "w").write("not an archive")
)",
                             dir.path()),
            0);
  std::string msg = cifar_error(dir.file("cut.tar.gz"));
  EXPECT_NE(msg.find(dir.file("cut.tar.gz")), std::string::npos) << msg;
  EXPECT_NE(msg.find("cifar-10-batches-bin/"), std::string::npos) << msg;  // the member being read
  EXPECT_THROW(read_cifar10_archive(dir.file("cut.tar.gz"), Cifar10Split::kTrain, [](const uint8_t*, int64_t) {}),
               IoError);
  msg = cifar_error(dir.file("text.tar.gz"));
  EXPECT_NE(msg.find(dir.file("text.tar.gz")), std::string::npos) << msg;
  EXPECT_THROW(read_cifar10_archive(dir.file("absent.tar.gz"), Cifar10Split::kTest, [](const uint8_t*, int64_t) {}),
               IoError);
}

TEST(Cifar10, WrongRecordLengthNamesMemberAndRecord) {
  test::TempDir dir;
  ASSERT_EQ(test::run_python(std::string(kMakeArchive) + R"(
import tarfile
records = make("ok.tar.gz", {"test_batch.bin": 3})
with tarfile.open("short.tar.gz", "w:gz") as tar:
    data = records["test_batch.bin"].tobytes()[:-100]   # record 2 cut short
    info = tarfile.TarInfo("cifar-10-batches-bin/test_batch.bin"); info.size = len(data)
    tar.addfile(info, io.BytesIO(data))
make("big.tar.gz", {"test_batch.bin": 3}, record_bytes=1 + 3 * 64 * 64)
make("label.tar.gz", {"test_batch.bin": 3}, label_of=lambda i: 12 if i == 1 else 0)
)",
                             dir.path()),
            0);
  std::string msg = cifar_error(dir.file("short.tar.gz"), Cifar10Split::kTest);
  EXPECT_NE(msg.find(dir.file("short.tar.gz") + ": test_batch.bin"), std::string::npos) << msg;
  EXPECT_NE(msg.find("record 2"), std::string::npos) << msg;
  msg = cifar_error(dir.file("big.tar.gz"), Cifar10Split::kTest);
  EXPECT_NE(msg.find("test_batch.bin"), std::string::npos) << msg;
  EXPECT_NE(msg.find("64x64"), std::string::npos) << msg;
  msg = cifar_error(dir.file("label.tar.gz"), Cifar10Split::kTest);
  EXPECT_NE(msg.find("record 1 has label 12"), std::string::npos) << msg;
  EXPECT_THROW(read_cifar10_archive(dir.file("label.tar.gz"), Cifar10Split::kTest, [](const uint8_t*, int64_t) {}),
               DataError);
}

TEST(Cifar10, MissingMemberIsADataError) {
  test::TempDir dir;
  ASSERT_EQ(test::run_python(std::string(kMakeArchive) + R"(
make("no3.tar.gz", {n: 1 for n in TRAIN if n != "data_batch_3.bin"})
)",
                             dir.path()),
            0);
  const std::string msg = cifar_error(dir.file("no3.tar.gz"));
  EXPECT_NE(msg.find(dir.file("no3.tar.gz")), std::string::npos) << msg;
  EXPECT_NE(msg.find("data_batch_3.bin"), std::string::npos) << msg;
  LabeledImages got(32, 32);
  EXPECT_THROW(read_cifar10_archive(dir.file("no3.tar.gz"), Cifar10Split::kTest, got.sink()), DataError);
}

// The size a member's tar header declares is checked before the member is read or held: 8 GiB
// declared by a tarball of a few hundred bytes, and one record more than an official batch.
TEST(Cifar10, DeclaredMemberSizeIsCheckedBeforeReading) {
  test::TempDir dir;
  ASSERT_EQ(test::run_python(std::string(kMakeArchive) + R"(
import gzip
info = tarfile.TarInfo("cifar-10-batches-bin/test_batch.bin")
info.size = 1 << 33                                   # GNU base-256 size field; 16 data bytes follow
with gzip.open("liar.tar.gz", "wb") as f:
    f.write(info.tobuf(format=tarfile.GNU_FORMAT) + bytes(16))
with tarfile.open("over.tar.gz", "w:gz") as tar:
    data = bytes(10001 * 3073)                        # all labels 0: valid records, one too many
    info = tarfile.TarInfo("cifar-10-batches-bin/test_batch.bin"); info.size = len(data)
    tar.addfile(info, io.BytesIO(data))
)",
                             dir.path()),
            0);
  for (const auto& [archive, declared] :
       {std::pair{"liar.tar.gz", "8589934592"}, std::pair{"over.tar.gz", "30733073"}}) {
    const std::string msg = cifar_error(dir.file(archive), Cifar10Split::kTest);
    EXPECT_NE(msg.find(dir.file(archive) + ": test_batch.bin: tar header declares " + declared + " bytes"),
              std::string::npos)
        << msg;
    EXPECT_NE(msg.find("at most 30730000 (10000 records of 3073)"), std::string::npos) << msg;
    EXPECT_THROW(read_cifar10_archive(dir.file(archive), Cifar10Split::kTest, [](const uint8_t*, int64_t) {}),
                 DataError);
  }
}

}  // namespace
}  // namespace repro::datasets
