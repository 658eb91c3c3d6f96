// An LMDB of WebP images written by python3-lmdb + Pillow, read back and prepared to 64x64,
// against guided-diffusion's datasets/lsun_bedroom.py read_images run verbatim on the same LMDB.
#include "datasets/lsun.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/util/errors.h"
#include "core/util/npy.h"
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

}  // namespace
}  // namespace repro::datasets
