// An LMDB of WebP images written by python3-lmdb + Pillow, read back and prepared to 64x64,
// against guided-diffusion's datasets/lsun_bedroom.py read_images run verbatim on the same LMDB.
#include "datasets/lsun.h"

#include <sys/resource.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include <string>
#include <vector>

#include "base/util/errors.h"
#include "base/util/npy.h"
#include "base/util/process.h"
#include "tests/datasets/pillow_reference.h"
#include "tests/support/test_support.h"

namespace repro::datasets {
namespace {

// The reference generator (only the PIL / numpy / lmdb calls it makes) and an LMDB writer.
const char* kLsun = R"(
import io
import lmdb

def read_images(lmdb_path, image_size):
    env = lmdb.open(lmdb_path, map_size=1099511627776, max_readers=100, readonly=True)
    with env.begin(write=False) as transaction:
        cursor = transaction.cursor()
        for _, webp_data in cursor:
            img = Image.open(io.BytesIO(webp_data))
            width, height = img.size
            scale = image_size / min(width, height)
            img = img.resize((int(round(scale * width)), int(round(scale * height))), resample=Image.BOX)
            arr = np.array(img)
            h, w, _ = arr.shape
            h_off = (h - image_size) // 2
            w_off = (w - image_size) // 2
            arr = arr[h_off : h_off + image_size, w_off : w_off + image_size]
            yield arr

def write_lmdb(path, items):
    env = lmdb.open(path, map_size=1 << 28)
    with env.begin(write=True) as txn:
        for key, value in items:
            txn.put(key, value)
    env.close()

def webp(im, **kw):
    b = io.BytesIO(); im.save(b, "WEBP", **kw); return b.getvalue()
)";

TEST(Lsun, MatchesTheReferenceScript) {
  test::TempDir dir;
  ASSERT_EQ(test::run_python(std::string(test_util::kPillowPrelude) + kLsun + R"(
# LSUN-like sizes: the short side 256, long sides that round differently; keys out of order
sizes = [(341, 256), (256, 384), (256, 256), (300, 257), (169, 128), (99, 64)]  # 169 * 0.5 = 84.5: round() gives 84
items = [(("%040x" % (977 * (i + 3) % 1000003)).encode(), webp(photo(w, h, seed=i), quality=80))
         for i, (w, h) in enumerate(sizes)]
items.append((b"ffff-lossless", webp(photo(130, 140, seed=9), lossless=True)))
write_lmdb("tower_train_lmdb", items)
np.save("want.npy", np.stack(list(read_images("tower_train_lmdb", 64))))
)",
                             dir.path()),
            0);
  LabeledImages got(64, 64);
  EXPECT_EQ(read_lsun_lmdb(dir.file("tower_train_lmdb"), 64, got.sink()), 7);
  const NpyArray want = read_npy(dir.file("want.npy"));
  ASSERT_EQ(want.shape, (std::vector<int64_t>{7, 64, 64, 3}));
  RgbImage a(64, 7 * 64), b(64, 7 * 64);
  a.pixels = got.images;
  b.pixels.assign(want.data.begin(), want.data.end());
  const test_util::PixelDiff d = test_util::pixel_diff(a, b);
  EXPECT_EQ(d.max, 0);
  test_util::report("LSUN lsun_bedroom.py read_images, 7 WebP records -> 64", d);
  EXPECT_EQ(got.labels, std::vector<int64_t>(7, kNoLabel));
}

TEST(Lsun, BadRecordsAreNamed) {
  test::TempDir dir;
  ASSERT_EQ(test::run_python(std::string(test_util::kPillowPrelude) + kLsun + R"(
good = webp(photo(80, 70, seed=1), quality=80)
jpeg = io.BytesIO(); photo(80, 70, seed=2).save(jpeg, "JPEG"); jpeg = jpeg.getvalue()
write_lmdb("notwebp", [(b"a0", good), (b"a1", jpeg)])
write_lmdb("cut", [(b"a0", good), (b"a1", good), (b"b2", good[: len(good) // 2])])
write_lmdb("empty", [])
)",
                             dir.path()),
            0);
  const auto error = [&](const std::string& db) {
    return test::error_message([&] { read_lsun_lmdb(dir.file(db), 64, [](const uint8_t*, int64_t) {}); });
  };
  std::string msg = error("notwebp");
  EXPECT_NE(msg.find(dir.file("notwebp") + ": record 1 (key a1)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("not a WebP"), std::string::npos) << msg;
  msg = error("cut");
  EXPECT_NE(msg.find(dir.file("cut") + ": record 2 (key b2)"), std::string::npos) << msg;
  EXPECT_THROW(read_lsun_lmdb(dir.file("cut"), 64, [](const uint8_t*, int64_t) {}), IoError);
  EXPECT_THROW(read_lsun_lmdb(dir.file("empty"), 64, [](const uint8_t*, int64_t) {}), DataError);
  msg = error("absent");
  EXPECT_NE(msg.find(dir.file("absent")), std::string::npos) << msg;
  EXPECT_THROW(read_lsun_lmdb(dir.file("absent"), 64, [](const uint8_t*, int64_t) {}), IoError);
}

// Runs `fn` in a child process whose address space is limited to what it already uses plus 1 GiB
// (`ulimit -v` on a shared machine); returns the child's exit status (0 = fn returned true).
template <typename Fn>
int run_with_address_limit(Fn&& fn) {
  const auto limited = [&fn] {
    long pages = 0;
    std::ifstream("/proc/self/statm") >> pages;  // first field: total program size in pages
    const rlim_t limit = static_cast<rlim_t>(pages) * sysconf(_SC_PAGESIZE) + (rlim_t{1} << 30);
    const rlimit rl{limit, limit};
    if (setrlimit(RLIMIT_AS, &rl) != 0) return 3;
    try {
      return fn() ? 0 : 1;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "child: %s\n", e.what());
      return 2;
    }
  };
  return run_in_child(limited, "read under an address-space limit").shell_status();
}

// The writer stored a 1 TiB map size in the file (as the reference's readers ask for): opening
// must map only the data file, so it works under an address-space limit.
TEST(Lsun, OpensUnderAnAddressSpaceLimit) {
  test::TempDir dir;
  ASSERT_EQ(test::run_python(std::string(test_util::kPillowPrelude) + kLsun + R"(
env = lmdb.open("tower", map_size=1 << 40)
with env.begin(write=True) as txn:
    for i in range(3):
        txn.put(b"k%d" % i, webp(photo(80, 70, seed=i), quality=80))
env.close()
)",
                             dir.path()),
            0);
  const std::string db = dir.file("tower");
  EXPECT_EQ(run_with_address_limit([&] { return read_lsun_lmdb(db, 64, [](const uint8_t*, int64_t) {}) == 3; }), 0);
}

// A data.mdb cut short: its meta page still claims the pages that were cut, which LMDB would map
// past the end of the file (reading them is SIGBUS). Refused at open, naming the file.
TEST(Lsun, TruncatedDataFileIsAnIoError) {
  test::TempDir dir;
  ASSERT_EQ(test::run_python(std::string(test_util::kPillowPrelude) + kLsun + R"(
write_lmdb("cut", [(b"k%d" % i, webp(photo(160, 160, seed=i), lossless=True)) for i in range(4)])
size = os.path.getsize("cut/data.mdb")
assert size > 8 * 4096, size
os.truncate("cut/data.mdb", size // 2)
)",
                             dir.path()),
            0);
  const std::string db = dir.file("cut");
  const std::string msg = test::error_message([&] { read_lsun_lmdb(db, 64, [](const uint8_t*, int64_t) {}); });
  EXPECT_NE(msg.find(db + "/data.mdb: the LMDB meta page claims"), std::string::npos) << msg;
  EXPECT_NE(msg.find("(truncated or corrupt)"), std::string::npos) << msg;
  EXPECT_THROW(read_lsun_lmdb(db, 64, [](const uint8_t*, int64_t) {}), IoError);
}

// A record whose node claims a 4 GiB value (the size field of its leaf node forged, the node
// header being the 8 bytes before the key: size low, size high, flags, key size): LMDB hands out
// the pointer and size as they stand; the reader refuses a value that runs past the file.
TEST(Lsun, ForgedValueSizeIsAnIoError) {
  test::TempDir dir;
  ASSERT_EQ(test::run_python(std::string(test_util::kPillowPrelude) + kLsun + R"(
write_lmdb("forged", [(b"FORGEDKEY", webp(photo(120, 120, seed=1), lossless=True))])
data = bytearray(open("forged/data.mdb", "rb").read())
at = data.find(b"FORGEDKEY")
assert at > 8 and data.find(b"FORGEDKEY", at + 1) < 0
struct.pack_into("<HH", data, at - 8, 0xFFFF, 0xFFFF)
open("forged/data.mdb", "wb").write(bytes(data))
)",
                             dir.path()),
            0);
  const std::string db = dir.file("forged");
  const std::string msg = test::error_message([&] { read_lsun_lmdb(db, 64, [](const uint8_t*, int64_t) {}); });
  EXPECT_NE(msg.find(db + ": record 0 (key FORGEDKEY): value of 4294967295 bytes runs past the end"), std::string::npos)
      << msg;
  EXPECT_THROW(read_lsun_lmdb(db, 64, [](const uint8_t*, int64_t) {}), IoError);
}

}  // namespace
}  // namespace repro::datasets
