// The packed format: a round trip read back by numpy and hashlib (so the layout and the fingerprint
// are what the manifest says to a third party), and every kind of damage caught by open() or
// verify_content().
#include "datasets/packed_dataset.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "base/util/errors.h"
#include "base/util/file_io.h"
#include "base/util/sha256.h"
#include "datasets/packed_writer.h"
#include "tests/support/test_support.h"

namespace repro::datasets {
namespace {

namespace fs = std::filesystem;

// `count` random images of h x w x 3 with labels 10*i + 7.
LabeledImages random_images(int count, int h, int w, uint32_t seed) {
  LabeledImages out(h, w);
  std::mt19937 rng(seed);
  for (int i = 0; i < count; ++i) {
    for (size_t k = 0; k < out.bytes_per_image(); ++k) out.images.push_back(static_cast<uint8_t>(rng()));
    out.labels.push_back(10 * i + 7);
  }
  return out;
}

PackedManifest write_packed(const std::string& dir, const LabeledImages& images, bool has_labels) {
  PackedWriter writer(dir, images.height, images.width, has_labels);
  for (size_t i = 0; i < images.size(); ++i) writer.add(images.image(i), images.labels[i]);
  return writer.finish({{"dataset", "test"}, {"pipeline", "none"}}, 3,
                       {{"a.bin", std::string(64, 'a'), 12}, {"b.bin", std::string(64, 'b'), 34}});
}

std::string expect_io_error(const std::string& dir) {
  std::string msg;
  try {
    PackedDataset::open(dir);
    ADD_FAILURE() << "no error opening " << dir;
  } catch (const IoError& e) {
    msg = e.what();
  }
  return msg;
}

void flip_byte(const std::string& path, uint64_t offset) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(offset));
  const char c = static_cast<char>(f.get() ^ 0x40);
  f.seekp(static_cast<std::streamoff>(offset));
  f.put(c);
}

TEST(PackedDataset, RoundTripMatchesNumpyAndHashlib) {
  test::TempDir dir;
  // 5x3 images, 3 of them: 135 image bytes, so the labels need padding to an 8-byte offset.
  const LabeledImages images = random_images(3, 5, 3, 1);
  const PackedManifest written = write_packed(dir.file("out"), images, true);
  const PackedDataset d = PackedDataset::open(dir.file("out"));
  ASSERT_EQ(d.size(), 3);
  EXPECT_EQ(d.height(), 5);
  EXPECT_EQ(d.width(), 3);
  EXPECT_EQ(d.channels(), 3);
  ASSERT_TRUE(d.has_labels());
  for (int64_t i = 0; i < 3; ++i) {
    EXPECT_EQ(std::vector<uint8_t>(d.image(i), d.image(i) + 45),
              std::vector<uint8_t>(images.image(i), images.image(i) + 45));
    EXPECT_EQ(d.label(i), 10 * i + 7);
  }
  EXPECT_EQ(d.manifest().fingerprint, sha256_hex(std::string(images.images.begin(), images.images.end())));
  EXPECT_EQ(d.manifest().fingerprint, written.fingerprint);
  EXPECT_EQ(d.manifest().recipe.at("dataset"), "test");
  EXPECT_EQ(d.manifest().recipe_version, 3);
  ASSERT_EQ(d.manifest().sources.size(), 2u);
  EXPECT_EQ(d.manifest().sources[1].path, "b.bin");
  EXPECT_EQ(d.manifest().sources[1].bytes, 34u);
  EXPECT_NO_THROW(d.verify_content());
  EXPECT_FALSE(fs::exists(dir.file("out/packed.bin.partial")));

  // A third party reads the file from the header fields and the manifest alone.
  ASSERT_EQ(test::run_python(R"(
import hashlib, json, struct
import numpy as np
m = json.load(open("out/manifest.json"))
raw = open("out/packed.bin", "rb").read()
magic, ver, hdr, n, h, w, c, has_labels, img_off, lab_off, size = struct.unpack("<8sIIQIIIIQQQ", raw[:64])
assert magic == b"RPACKED\0" and ver == m["format_version"] == 1 and hdr == 64, (magic, ver, hdr)
assert [n, h, w, c] == m["shape"] and size == len(raw) == m["data_bytes"], (n, h, w, c, size, len(raw))
images = np.frombuffer(raw, np.uint8, n * h * w * c, img_off).reshape(n, h, w, c)
assert hashlib.sha256(images.tobytes()).hexdigest() == m["fingerprint"]
labels = np.frombuffer(raw, "<i8", n, lab_off)
assert lab_off % 8 == 0 and list(labels) == [7, 17, 27], (lab_off, labels)
assert hashlib.sha256(labels.tobytes()).hexdigest() == m["labels_sha256"]
np.save("first.npy", images[0])
)",
                             dir.path()),
            0);
}

TEST(PackedDataset, WithoutLabels) {
  test::TempDir dir;
  const LabeledImages images = random_images(4, 8, 8, 2);
  write_packed(dir.file("out"), images, false);
  const PackedDataset d = PackedDataset::open(dir.file("out"));
  EXPECT_FALSE(d.has_labels());
  EXPECT_EQ(fs::file_size(dir.file("out/packed.bin")), 64u + 4 * 8 * 8 * 3);
  EXPECT_THROW(d.label(0), DataError);
  EXPECT_NO_THROW(d.verify_content());
}

TEST(PackedDataset, SizeMismatchIsCaughtAtOpen) {
  test::TempDir dir;
  write_packed(dir.file("out"), random_images(3, 4, 4, 3), true);
  const std::string data = dir.file("out/packed.bin");
  const auto full = fs::file_size(data);
  fs::resize_file(data, full - 1);
  std::string msg = expect_io_error(dir.file("out"));
  EXPECT_NE(msg.find(data), std::string::npos) << msg;
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
  fs::resize_file(data, full + 8);
  msg = expect_io_error(dir.file("out"));
  EXPECT_NE(msg.find("trailing"), std::string::npos) << msg;
  fs::resize_file(data, 10);
  msg = expect_io_error(dir.file("out"));
  EXPECT_NE(msg.find("header"), std::string::npos) << msg;
}

TEST(PackedDataset, FingerprintMismatchIsCaughtByVerify) {
  test::TempDir dir;
  write_packed(dir.file("out"), random_images(3, 4, 4, 4), true);
  flip_byte(dir.file("out/packed.bin"), 64 + 40);                // inside image 0
  const PackedDataset d = PackedDataset::open(dir.file("out"));  // same size: open cannot tell
  const std::string msg = test::error_message([&] { d.verify_content(); });
  EXPECT_NE(msg.find(dir.file("out/packed.bin")), std::string::npos) << msg;
  EXPECT_NE(msg.find("fingerprint"), std::string::npos) << msg;
  EXPECT_THROW(d.verify_content(), IoError);
}

TEST(PackedDataset, LabelCorruptionIsCaughtByVerify) {
  test::TempDir dir;
  write_packed(dir.file("out"), random_images(3, 4, 4, 5), true);
  flip_byte(dir.file("out/packed.bin"), fs::file_size(dir.file("out/packed.bin")) - 3);
  const std::string msg = test::error_message([&] { PackedDataset::open(dir.file("out")).verify_content(); });
  EXPECT_NE(msg.find("labels"), std::string::npos) << msg;
}

TEST(PackedDataset, HeaderOrManifestDamageIsCaughtAtOpen) {
  test::TempDir dir;
  write_packed(dir.file("out"), random_images(3, 4, 4, 6), true);
  const std::string manifest_path = dir.file("out/manifest.json");
  const std::string manifest = read_file(manifest_path);
  // The manifest says another count.
  nlohmann::json j = nlohmann::json::parse(manifest);
  j["count"] = 4;
  j["shape"] = {4, 4, 4, 3};
  write_file_atomic(manifest_path, j.dump());
  std::string msg = expect_io_error(dir.file("out"));
  EXPECT_NE(msg.find("does not match"), std::string::npos) << msg;
  // A key missing, not JSON.
  j = nlohmann::json::parse(manifest);
  j.erase("fingerprint");
  write_file_atomic(manifest_path, j.dump());
  msg = expect_io_error(dir.file("out"));
  EXPECT_NE(msg.find("fingerprint"), std::string::npos) << msg;
  write_file_atomic(manifest_path, "{not json");
  msg = expect_io_error(dir.file("out"));
  EXPECT_NE(msg.find(manifest_path), std::string::npos) << msg;
  // The header's magic, then its count.
  write_file_atomic(manifest_path, manifest);
  EXPECT_NO_THROW(PackedDataset::open(dir.file("out")));
  flip_byte(dir.file("out/packed.bin"), 0);
  msg = expect_io_error(dir.file("out"));
  EXPECT_NE(msg.find("magic"), std::string::npos) << msg;
  flip_byte(dir.file("out/packed.bin"), 0);
  flip_byte(dir.file("out/packed.bin"), 16);
  msg = expect_io_error(dir.file("out"));
  EXPECT_FALSE(msg.empty());
}

TEST(PackedDataset, InterruptedPrepareLeavesNothingCompleteAndRestartsCleanly) {
  test::TempDir dir;
  const std::string out = dir.file("out");
  write_packed(out, random_images(3, 4, 4, 7), true);
  {
    // A new prepare into the same directory dies before finish().
    PackedWriter writer(out, 4, 4, true);
    const LabeledImages more = random_images(2, 4, 4, 8);
    writer.add(more.image(0), 0);
    EXPECT_FALSE(fs::exists(out + "/manifest.json"));  // the old dataset stopped looking complete
    std::string msg = expect_io_error(out);
    EXPECT_NE(msg.find("did not finish"), std::string::npos) << msg;
    // A second writer meanwhile is refused, and does not wipe the first one's file.
    msg = test::error_message([&] { PackedWriter second(out, 4, 4, true); });
    EXPECT_NE(msg.find("another prepare"), std::string::npos) << msg;
    EXPECT_GT(fs::file_size(out + "/packed.bin.partial"), 0u);
  }
  EXPECT_FALSE(fs::exists(out + "/packed.bin.partial"));
  expect_io_error(out);

  // A partial left by a killed process (no destructor ran) is replaced by the next prepare.
  std::ofstream(out + "/packed.bin.partial") << std::string(1000, 'x');
  const LabeledImages fresh = random_images(2, 4, 4, 9);
  write_packed(out, fresh, true);
  const PackedDataset d = PackedDataset::open(out);
  EXPECT_EQ(d.size(), 2);
  EXPECT_NO_THROW(d.verify_content());
  EXPECT_FALSE(fs::exists(out + "/packed.bin.partial"));
}

TEST(PackedDataset, NothingAddedOrBadSizeIsADataError) {
  test::TempDir dir;
  PackedWriter writer(dir.file("out"), 4, 4, false);
  EXPECT_THROW(writer.finish({}, 1, {}), DataError);
  EXPECT_THROW(PackedWriter(dir.file("out2"), 0, 4, false), DataError);
}

TEST(PackedDataset, DescribeSourceHashesTheFile) {
  test::TempDir dir;
  write_file_atomic(dir.file("src.bin"), "hello");
  const PackedSource s = describe_source(dir.file("src.bin"));
  EXPECT_EQ(s.sha256, sha256_hex("hello"));
  EXPECT_EQ(s.bytes, 5u);
  EXPECT_THROW(describe_source(dir.file("absent")), IoError);
}

}  // namespace
}  // namespace repro::datasets
