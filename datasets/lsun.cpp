#include "datasets/lsun.h"

#include <lmdb.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/util/errors.h"
#include "datasets/format_decoders.h"
#include "datasets/pil_resize.h"

namespace repro::datasets {
namespace {

// Closes the environment, transaction and cursor on every way out.
struct Lmdb {
  MDB_env* env = nullptr;
  MDB_txn* txn = nullptr;
  MDB_cursor* cursor = nullptr;
  ~Lmdb() {
    if (cursor) mdb_cursor_close(cursor);
    if (txn) mdb_txn_abort(txn);
    if (env) mdb_env_close(env);
  }
};

void check(int rc, const std::string& where, const char* step) {
  if (rc != MDB_SUCCESS) throw IoError(where + ": " + step + ": " + mdb_strerror(rc));
}

// The key as text for messages: LSUN's are ASCII hex ids; anything else is escaped, cut at 64.
std::string printable_key(const MDB_val& key) {
  std::string out;
  const auto* p = static_cast<const unsigned char*>(key.mv_data);
  for (size_t i = 0; i < key.mv_size && out.size() < 64; ++i) {
    if (p[i] >= 0x20 && p[i] < 0x7f) {
      out += static_cast<char>(p[i]);
    } else {
      static const char kHex[] = "0123456789abcdef";
      out += std::string("\\x") + kHex[p[i] >> 4] + kHex[p[i] & 15];
    }
  }
  return out;
}

}  // namespace

RgbImage lsun_preprocess(const RgbImage& image, int image_size) {
  if (image_size < 1 || image.width < 1 || image.height < 1)
    throw DataError("lsun_preprocess: empty image or image_size " + std::to_string(image_size));
  const double scale = double(image_size) / std::min(image.width, image.height);
  // int(round(x)): nearbyint rounds half to even under the default rounding mode, as round() does.
  const int w = static_cast<int>(std::nearbyint(scale * image.width));
  const int h = static_cast<int>(std::nearbyint(scale * image.height));
  const RgbImage resized = pil_resize(image, w, h, Resampling::kBox);
  const int h_off = (h - image_size) / 2, w_off = (w - image_size) / 2;  // both >= 0
  RgbImage out(image_size, image_size);
  for (int y = 0; y < image_size; ++y)
    std::memcpy(out.row(y), resized.row(h_off + y) + 3 * w_off, 3 * static_cast<size_t>(image_size));
  return out;
}

int64_t read_lsun_lmdb(const std::string& lmdb_path, int image_size, const ImageSink& sink) {
  Lmdb db;
  check(mdb_env_create(&db.env), lmdb_path, "mdb_env_create");
  // The reference's map_size (1 TiB): only address space, and at least the file's size.
  check(mdb_env_set_mapsize(db.env, size_t(1) << 40), lmdb_path, "mdb_env_set_mapsize");
  check(mdb_env_open(db.env, lmdb_path.c_str(), MDB_RDONLY | MDB_NOLOCK | MDB_NOTLS, 0444), lmdb_path,
        "cannot open LMDB environment");
  check(mdb_txn_begin(db.env, nullptr, MDB_RDONLY, &db.txn), lmdb_path, "mdb_txn_begin");
  MDB_dbi dbi;
  check(mdb_dbi_open(db.txn, nullptr, 0, &dbi), lmdb_path, "mdb_dbi_open");
  check(mdb_cursor_open(db.txn, dbi, &db.cursor), lmdb_path, "mdb_cursor_open");
  MDB_val key, value;
  int64_t index = 0;
  for (int rc = mdb_cursor_get(db.cursor, &key, &value, MDB_FIRST); rc != MDB_NOTFOUND;
       rc = mdb_cursor_get(db.cursor, &key, &value, MDB_NEXT), ++index) {
    check(rc, lmdb_path, ("reading record " + std::to_string(index)).c_str());
    const std::string where = lmdb_path + ": record " + std::to_string(index) + " (key " + printable_key(key) + ")";
    const auto* data = static_cast<const uint8_t*>(value.mv_data);
    if (value.mv_size < 12 || std::memcmp(data, "RIFF", 4) != 0 || std::memcmp(data + 8, "WEBP", 4) != 0)
      throw IoError(where + ": value is not a WebP file (LSUN's LMDB values are WebP)");
    const RgbImage out = lsun_preprocess(detail::decode_webp(data, value.mv_size, where), image_size);
    sink(out.pixels.data(), kNoLabel);
  }
  if (index == 0) throw DataError(lmdb_path + ": the LMDB holds no records");
  return index;
}

}  // namespace repro::datasets
