// Crafted .pt, .npy and zip files that once crashed or exhausted memory: each must be
// refused with a repro error naming the file and the field, before anything large is allocated.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "base/util/errors.h"
#include "base/util/file_io.h"
#include "base/util/limits.h"
#include "base/util/npy.h"
#include "base/util/torch_pickle.h"
#include "base/util/utf8.h"
#include "base/util/zip_archive.h"
#include "tests/support/test_support.h"

namespace repro {
namespace {

using test::error_message;
using test::TempDir;

// A checkpoint whose data.pkl is `pickle` (no storages).
std::string write_pickle(const TempDir& dir, const std::string& pickle) {
  const std::string path = dir.file("crafted.pt");
  write_zip(path, {{"archive/data.pkl", pickle}});
  return path;
}

TEST(HostileCheckpoint, StrideZeroViewOfHugeSizeIsRefusedBeforeGathering) {
  StateDictFile f;
  f.path = "bomb.pt";
  f.storages["0"] = std::string(4, '\0');
  // 2^40 float32 from 4 bytes: the gather once wrote past a buffer whose size had wrapped.
  TensorRecord t{"w", "float32", {int64_t{1} << 40}, {0}, 0, "0", false};
  const std::string msg = error_message([&] { f.contiguous_bytes(t); });
  EXPECT_NE(msg.find("bomb.pt: tensor 'w'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("expanded views"), std::string::npos) << msg;
  EXPECT_THROW(f.contiguous_bytes(t), DataError);
}

TEST(HostileCheckpoint, SizeTimesStrideOverflowIsRefused) {
  StateDictFile f;
  f.path = "wrap.pt";
  f.storages["0"] = std::string(64, '\0');
  TensorRecord t{"w", "float32", {int64_t{1} << 32, 2}, {int64_t{1} << 40, 1}, 0, "0", false};
  const std::string msg = error_message([&] { f.contiguous_bytes(t); });
  EXPECT_NE(msg.find("overflows 64 bits"), std::string::npos) << msg;
  t = {"w", "float32", {2}, {1}, -1, "0", false};
  EXPECT_NE(error_message([&] { f.contiguous_bytes(t); }).find("negative storage offset"), std::string::npos);
  // A size-1 axis may carry any stride (torch writes such views): still read correctly.
  t = {"w", "float32", {1, 3}, {std::numeric_limits<int64_t>::max(), 1}, 0, "0", false};
  EXPECT_EQ(f.contiguous_bytes(t).size(), 12u);
}

TEST(HostileCheckpoint, DeeplyNestedListsAreFreedWithoutRecursion) {
  // 200,000 lists each appended into the one below: a chain 200,000 deep that once overflowed
  // the stack when destroyed. Now it is an ordinary "not a state dict".
  const int n = 200000;
  const std::string pickle = "\x80\x02" + std::string(n, ']') + std::string(n - 1, 'a') + ".";
  TempDir dir;
  const std::string path = write_pickle(dir, pickle);
  const std::string msg = error_message([&] { read_state_dict_file(path); });
  EXPECT_NE(msg.find("top-level object is a list"), std::string::npos) << msg;
}

TEST(HostileCheckpoint, SelfContainingListAndDeepMarksAreHandled) {
  TempDir dir;
  // l = []; l.append(l): a cycle, no leak and no endless walk.
  const char kSelfList[] =
      "\x80\x02]q\x00h\x00"
      "a.";  // split: \x00a would be one escape
  const std::string self_list(kSelfList, sizeof kSelfList - 1);
  const std::string msg_self = error_message([&] { read_state_dict_file(write_pickle(dir, self_list)); });
  EXPECT_NE(msg_self.find("top-level object is a list"), std::string::npos) << msg_self;
  // MARKs nest like the tuples they build: 100,000 deep is refused at the limit.
  const std::string marks = "\x80\x02" + std::string(100000, '(') + ".";
  const std::string msg = error_message([&] { read_state_dict_file(write_pickle(dir, marks)); });
  EXPECT_NE(msg.find("nesting deeper than"), std::string::npos) << msg;
  EXPECT_NE(msg.find("crafted.pt"), std::string::npos) << msg;
}

TEST(HostileCheckpoint, MillionsOfValuesAreCapped) {
  TempDir dir;
  const std::string pickle = "\x80\x02" + std::string(1100000, 'N') + ".";
  const std::string msg = error_message([&] { read_state_dict_file(write_pickle(dir, pickle)); });
  EXPECT_NE(msg.find("more than 1048576 pickle"), std::string::npos) << msg;
}

std::string npy_with_header(const std::string& dict, const std::string& data = "") {
  std::string h = dict + "\n";
  std::string out = std::string("\x93NUMPY\x01\x00", 8);
  out += static_cast<char>(h.size() & 0xff);
  out += static_cast<char>(h.size() >> 8);
  return out + h + data;
}

TEST(HostileNpy, ShapeWhoseByteCountWrapsIsRefused) {
  // 2^61 float64 = 2^64 bytes, which wrapped to 0 and matched an empty data section.
  const std::string bytes =
      npy_with_header("{'descr': '<f8', 'fortran_order': False, 'shape': (2305843009213693952,), }");
  const std::string msg = error_message([&] { parse_npy(bytes, "wrap.npy"); });
  EXPECT_NE(msg.find("wrap.npy"), std::string::npos) << msg;
  EXPECT_NE(msg.find("overflows"), std::string::npos) << msg;
  EXPECT_THROW(parse_npy(bytes, "wrap.npy"), DataError);
}

TEST(HostileNpy, DeeplyNestedHeaderIsRefusedAtTheNestingLimit) {
  const std::string bytes = npy_with_header("{'descr': " + std::string(30000, '[') + "}");
  const std::string msg = error_message([&] { parse_npy(bytes, "deep.npy"); });
  EXPECT_NE(msg.find("deep.npy: .npy header: nesting deeper than"), std::string::npos) << msg;
}

TEST(HostileNpy, ParsedArrayTakesOverTheFileBytes) {
  NpyArray a = make_npy_array(std::vector<float>(1000, 1.5f), {10, 100});
  std::string bytes = serialize_npy(a);
  NpyArray b = parse_npy(std::move(bytes), "moved.npy");
  EXPECT_EQ(b.data, a.data);
  EXPECT_EQ(b.shape, a.shape);
}

// Overwrites the 4-byte little-endian field at `offset` of the record starting with `signature`.
void patch_u32(std::string& zip, const char* signature, size_t offset, uint32_t value) {
  const size_t at = zip.find(signature);
  ASSERT_NE(at, std::string::npos);
  for (int k = 0; k < 4; ++k) zip[at + offset + k] = static_cast<char>((value >> (8 * k)) & 0xff);
}

TEST(HostileZip, StoredEntryClaimingMoreThanItHoldsIsRefusedBeforeAllocating) {
  TempDir dir;
  const std::string path = dir.file("liar.npz");
  write_zip(path, {{"x.npy", std::string(100, 'a')}});
  std::string bytes = read_file(path);
  // Central directory: uncompressed size at +24. 1.8 GB claimed for 100 stored bytes.
  patch_u32(bytes, "PK\x01\x02", 24, 1800000000u);
  patch_u32(bytes, "PK\x03\x04", 22, 1800000000u);
  write_file_atomic(path, bytes);
  ZipReader zip(path);
  const std::string msg = error_message([&] { zip.read("x.npy"); });
  EXPECT_NE(msg.find("liar.npz: zip entry 'x.npy': stored entry claims 1800000000 bytes"), std::string::npos) << msg;
  EXPECT_THROW(zip.read("x.npy"), IoError);
}

TEST(HostileZip, DeflatedEntryPastDeflatesRatioIsRefused) {
  TempDir dir;
  ASSERT_EQ(test::run_python(R"(
import zipfile
with zipfile.ZipFile('bomb.npz', 'w', zipfile.ZIP_DEFLATED) as z:
    z.writestr('x.npy', b'\0' * 4096)
)",
                             dir.path()),
            0);
  std::string bytes = read_file(dir.file("bomb.npz"));
  patch_u32(bytes, "PK\x01\x02", 24, 2000000000u);
  write_file_atomic(dir.file("bomb.npz"), bytes);
  ZipReader zip(dir.file("bomb.npz"));
  const std::string msg = error_message([&] { zip.read("x.npy"); });
  EXPECT_NE(msg.find("more than deflate's 1032:1 allows"), std::string::npos) << msg;
}

TEST(ResourceLimits, CheckedArithmeticAndLimitsNameTheirSubject) {
  EXPECT_EQ(checked_mul(1u << 20, 1u << 20, "x"), uint64_t{1} << 40);
  EXPECT_NE(error_message([] {
              checked_mul(uint64_t{1} << 33, uint64_t{1} << 31, "f.bin: count");
            }).find("f.bin: count: 8589934592 x 2147483648 overflows 64 bits"),
            std::string::npos);
  EXPECT_THROW(checked_add(~uint64_t{0}, 1, "x"), DataError);
  EXPECT_THROW(checked_product({1u << 30, 1u << 30, 1u << 30}, "x"), DataError);
  EXPECT_EQ(checked_product({2, 3, 7}, "x"), 42u);
  EXPECT_NE(error_message([] { check_alloc(uint64_t{1} << 50, "big.npz"); }).find("REPRO_MAX_ALLOC_BYTES"),
            std::string::npos);
  EXPECT_NO_THROW(check_image_size(1024, 1024, "a.png"));
  EXPECT_NE(error_message([] { check_image_size(1, 1000000, "tall.png"); }).find("tall.png"), std::string::npos);
  EXPECT_THROW(check_image_size(9000, 11000, "wide.png"), DataError);  // 99M pixels > Pillow's
  EXPECT_THROW(check_image_size(0, 5, "empty.png"), DataError);
  int depth = 0;
  {
    NestingGuard a(depth, "x");
    EXPECT_EQ(depth, 1);
  }
  EXPECT_EQ(depth, 0);
  depth = resource_limits().max_nesting;
  EXPECT_THROW(NestingGuard(depth, "deep.yaml"), DataError);
  EXPECT_EQ(depth, resource_limits().max_nesting);
}

}  // namespace
}  // namespace repro

namespace repro {
namespace {

TEST(Utf8, FindsTheFirstByteThatIsNotWellFormed) {
  EXPECT_EQ(invalid_utf8_offset("plain ascii"), std::string_view::npos);
  EXPECT_EQ(invalid_utf8_offset("h\xC3\xA9llo \xF0\x9F\x98\x80"), std::string_view::npos);  // é, U+1F600
  EXPECT_EQ(invalid_utf8_offset("caf\xE9"), 3u);             // Latin-1, as a YAML file from Windows
  EXPECT_EQ(invalid_utf8_offset("\xC0\xAF"), 0u);            // overlong '/'
  EXPECT_EQ(invalid_utf8_offset("x\xED\xA0\x80"), 1u);       // a surrogate
  EXPECT_EQ(invalid_utf8_offset("ab\xF4\x90\x80\x80"), 2u);  // past U+10FFFF
  EXPECT_EQ(invalid_utf8_offset("ab\xE2\x82"), 2u);          // cut short
  EXPECT_EQ(invalid_utf8_offset(std::string_view("a\0b", 3)), std::string_view::npos);
}

}  // namespace
}  // namespace repro
