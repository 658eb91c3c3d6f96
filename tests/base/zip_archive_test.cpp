// ZipReader / write_zip, read_file / write_file_atomic and SHA-256, checked against Python's
// zipfile and hashlib.
#include "base/util/zip_archive.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "base/util/errors.h"
#include "base/util/file_io.h"
#include "base/util/sha256.h"
#include "tests/support/test_support.h"

namespace repro {
namespace {

namespace fs = std::filesystem;
using test::run_python;
using test::TempDir;

// Deterministic bytes Python can regenerate: bytes((i * 7 + seed) % 256 for i in range(n)).
std::string pattern(size_t n, int seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 7 + static_cast<size_t>(seed)) % 256);
  return s;
}

// Files in `dir` whose name contains ".tmp-": leftovers of an atomic write.
int temp_leftovers(const fs::path& dir) {
  int n = 0;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().find(".tmp-") != std::string::npos) ++n;
  return n;
}

using test::error_message;

TEST(ZipArchive, ReadsStoredAndDeflatedEntriesWrittenByPython) {
  TempDir dir;
  ASSERT_EQ(run_python(R"(
import zipfile
def pattern(n, seed): return bytes((i * 7 + seed) % 256 for i in range(n))
with zipfile.ZipFile('py.zip', 'w') as z:
    z.writestr(zipfile.ZipInfo('stored.bin'), pattern(1000, 1), compress_type=zipfile.ZIP_STORED)
    z.writestr('sub/deflated.bin', pattern(200000, 3) + b'abc' * 5000, compress_type=zipfile.ZIP_DEFLATED)
    z.writestr('empty.txt', b'', compress_type=zipfile.ZIP_DEFLATED)
)",
                       dir.path()),
            0);
  ZipReader zip(dir.file("py.zip"));
  EXPECT_EQ(zip.names(), (std::vector<std::string>{"stored.bin", "sub/deflated.bin", "empty.txt"}));
  EXPECT_TRUE(zip.contains("sub/deflated.bin"));
  EXPECT_FALSE(zip.contains("deflated.bin"));
  EXPECT_EQ(zip.read("stored.bin"), pattern(1000, 1));
  std::string big = pattern(200000, 3);
  for (int i = 0; i < 5000; ++i) big += "abc";
  EXPECT_EQ(zip.read("sub/deflated.bin"), big);
  EXPECT_EQ(zip.read("empty.txt"), "");
  std::string msg = error_message([&] { zip.read("nope.bin"); });
  EXPECT_NE(msg.find("nope.bin"), std::string::npos) << msg;
  EXPECT_NE(msg.find("py.zip"), std::string::npos) << msg;
  EXPECT_THROW(zip.read("nope.bin"), IoError);
}

TEST(ZipArchive, CorruptedEntryFailsItsCrc) {
  TempDir dir;
  ASSERT_EQ(run_python(R"(
import zipfile
with zipfile.ZipFile('py.zip', 'w') as z:
    z.writestr('a.bin', b'0123456789' * 10, compress_type=zipfile.ZIP_STORED)
data = bytearray(open('py.zip', 'rb').read())
i = data.find(b'0123456789')
data[i + 5] ^= 0xff
open('py.zip', 'wb').write(bytes(data))
)",
                       dir.path()),
            0);
  ZipReader zip(dir.file("py.zip"));
  EXPECT_THROW(zip.read("a.bin"), IoError);
}

TEST(ZipArchive, WrittenArchiveIsReadByPythonStoredInOrder) {
  TempDir dir;
  const std::string path = dir.file("out.zip");
  write_zip(path, {{"z_first.bin", pattern(5000, 9)},
                   {"folder/second.txt", "hello\n"},
                   {"empty", ""},
                   {"a_last.bin", std::string("\0\0\x01", 3)}});
  EXPECT_EQ(temp_leftovers(dir.path()), 0);
  EXPECT_EQ(run_python(R"(
import zipfile
def pattern(n, seed): return bytes((i * 7 + seed) % 256 for i in range(n))
z = zipfile.ZipFile('out.zip')
assert z.testzip() is None
infos = z.infolist()
assert [i.filename for i in infos] == ['z_first.bin', 'folder/second.txt', 'empty', 'a_last.bin'], infos
assert all(i.compress_type == zipfile.ZIP_STORED for i in infos), [i.compress_type for i in infos]
assert z.read('z_first.bin') == pattern(5000, 9)
assert z.read('folder/second.txt') == b'hello\n'
assert z.read('empty') == b''
assert z.read('a_last.bin') == b'\0\0\x01'
)",
                       dir.path()),
            0);
  // Same input, same bytes: the timestamp is fixed.
  const std::string first = read_file(path);
  write_zip(dir.file("again.zip"), {{"z_first.bin", pattern(5000, 9)},
                                    {"folder/second.txt", "hello\n"},
                                    {"empty", ""},
                                    {"a_last.bin", std::string("\0\0\x01", 3)}});
  EXPECT_EQ(read_file(dir.file("again.zip")), first);
}

TEST(ZipArchive, EmptyArchiveRoundTrips) {
  TempDir dir;
  write_zip(dir.file("empty.zip"), {});
  EXPECT_TRUE(ZipReader(dir.file("empty.zip")).names().empty());
  EXPECT_EQ(run_python("import zipfile\nassert zipfile.ZipFile('empty.zip').namelist() == []\n", dir.path()), 0);
}

TEST(ZipArchive, WriteReplacesExistingFileAtomically) {
  TempDir dir;
  const std::string path = dir.file("x.zip");
  write_zip(path, {{"a", "old"}});
  write_zip(path, {{"b", "new"}});
  ZipReader zip(path);
  EXPECT_EQ(zip.names(), std::vector<std::string>{"b"});
  EXPECT_EQ(zip.read("b"), "new");
  EXPECT_EQ(temp_leftovers(dir.path()), 0);
}

TEST(ZipArchive, FailedWriteLeavesNoTempAndNamesPath) {
  TempDir dir;
  // A directory in the way: the final rename fails after the archive was fully built.
  const std::string blocked = dir.file("blocked.zip");
  fs::create_directory(blocked);
  fs::create_directory(fs::path(blocked) / "inner");
  std::string msg = error_message([&] { write_zip(blocked, {{"a", "data"}}); });
  EXPECT_NE(msg.find(blocked), std::string::npos) << msg;
  EXPECT_THROW(write_zip(blocked, {{"a", "data"}}), IoError);
  EXPECT_TRUE(fs::is_directory(blocked));
  EXPECT_EQ(temp_leftovers(dir.path()), 0);

  const std::string missing_dir = dir.file("no/such/dir/x.zip");
  EXPECT_THROW(write_zip(missing_dir, {{"a", "data"}}), IoError);
  EXPECT_THROW(write_zip(dir.file("dup.zip"), {{"a", "1"}, {"a", "2"}}), IoError);
  EXPECT_FALSE(fs::exists(dir.file("dup.zip")));
}

TEST(ZipArchive, OpeningMissingOrNonZipFileThrowsIoErrorNamingIt) {
  TempDir dir;
  const std::string missing = dir.file("missing.zip");
  std::string msg = error_message([&] { ZipReader zip(missing); });
  EXPECT_NE(msg.find("failed to open zip archive " + missing), std::string::npos) << msg;
  EXPECT_THROW(ZipReader zip(missing), IoError);

  const std::string text = dir.file("text.zip");
  write_file_atomic(text, "this is not a zip archive at all, just text");
  msg = error_message([&] { ZipReader zip(text); });
  EXPECT_NE(msg.find(text), std::string::npos) << msg;
  EXPECT_THROW(ZipReader zip(text), IoError);
}

TEST(FileIo, WriteAtomicAndReadBack) {
  TempDir dir;
  const std::string path = dir.file("f.bin");
  const std::string data = pattern(100000, 5);
  write_file_atomic(path, data);
  EXPECT_EQ(read_file(path), data);
  write_file_atomic(path, "short");
  EXPECT_EQ(read_file(path), "short");
  write_file_atomic(path, "");
  EXPECT_EQ(read_file(path), "");
  EXPECT_EQ(temp_leftovers(dir.path()), 0);
  // Independent check of the bytes on disk.
  write_file_atomic(path, data);
  EXPECT_EQ(run_python("data = open('f.bin', 'rb').read()\n"
                       "assert data == bytes((i * 7 + 5) % 256 for i in range(100000))\n",
                       dir.path()),
            0);
}

TEST(FileIo, ErrorsNameThePath) {
  TempDir dir;
  const std::string missing = dir.file("missing.txt");
  std::string msg = error_message([&] { read_file(missing); });
  EXPECT_NE(msg.find("cannot read " + missing), std::string::npos) << msg;
  EXPECT_THROW(read_file(missing), IoError);
  EXPECT_THROW(read_file(dir.path().string()), IoError);

  const std::string bad = dir.file("nodir/x.txt");
  msg = error_message([&] { write_file_atomic(bad, "x"); });
  EXPECT_NE(msg.find("cannot write " + bad), std::string::npos) << msg;
  const std::string blocked = dir.file("blocked");
  fs::create_directories(fs::path(blocked) / "inner");
  EXPECT_THROW(write_file_atomic(blocked, "x"), IoError);
  EXPECT_EQ(temp_leftovers(dir.path()), 0);
}

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256_hex(std::string(1000000, 'a')), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, FileDigestMatchesPythonHashlib) {
  TempDir dir;
  // Larger than the 1 MiB read chunk and not a multiple of it.
  ASSERT_EQ(run_python(R"(
import hashlib, random
random.seed(7)
data = bytes(random.getrandbits(8) for _ in range(3 * 1024 * 1024 + 17))
open('blob.bin', 'wb').write(data)
open('blob.sha256', 'w').write(hashlib.sha256(data).hexdigest())
)",
                       dir.path()),
            0);
  const std::string expected = read_file(dir.file("blob.sha256"));
  EXPECT_EQ(sha256_file_hex(dir.file("blob.bin")), expected);
  EXPECT_EQ(sha256_hex(read_file(dir.file("blob.bin"))), expected);

  const std::string missing = dir.file("missing.bin");
  std::string msg = error_message([&] { sha256_file_hex(missing); });
  EXPECT_NE(msg.find(missing), std::string::npos) << msg;
  EXPECT_THROW(sha256_file_hex(missing), IoError);
}

}  // namespace
}  // namespace repro
