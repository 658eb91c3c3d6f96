#include "datasets/lsun.h"

#include <lmdb.h>

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <utility>
#include <vector>

#include "base/util/errors.h"
#include "base/util/process.h"
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

// Where data.mdb is mapped into this process: LMDB does not say (mdb_env_info's me_mapaddr is the
// fixed address stored in the file, usually 0), so each mapping of the file (by device and inode)
// is read from /proc/self/maps, whose lines are "start-end perms offset major:minor inode path",
// the device in hex. Normally one: LMDB's.
struct MappedFile {
  std::vector<std::pair<uintptr_t, uintptr_t>> ranges;  // [begin, end), clipped to the file's size
  size_t size = 0;
};

MappedFile find_mappings(const struct stat& st, const std::string& data_file) {
  MappedFile map;
  map.size = static_cast<size_t>(st.st_size);
  std::ifstream maps("/proc/self/maps");
  for (std::string line; std::getline(maps, line);) {
    unsigned long long start = 0, end = 0, offset = 0, inode = 0;
    unsigned major_id = 0, minor_id = 0;
    char perms[8];
    if (std::sscanf(line.c_str(), "%llx-%llx %7s %llx %x:%x %llu", &start, &end, perms, &offset, &major_id, &minor_id,
                    &inode) == 7 &&
        inode == st.st_ino && major_id == major(st.st_dev) && minor_id == minor(st.st_dev) && offset == 0)
      map.ranges.emplace_back(start, start + std::min<unsigned long long>(end - start, map.size));
  }
  if (map.ranges.empty()) throw IoError(data_file + ": LMDB's mapping of the file is not in /proc/self/maps");
  return map;
}

// Opens the environment read-only, mapping only the data file: the reference's map_size (1 TiB)
// reserves that much address space and fails under any `ulimit -v`, and LMDB's default is the map
// size the writer stored in the file, which can be as large. LMDB grows the map to the size its
// meta page claims; a claim past the end of the file is a truncated or forged file, rejected
// before any page is read (reading past the file's end would be SIGBUS).
// liblmdb trusts its meta pages: a page size of 0 divides by zero inside mdb_env_open. Both meta
// pages (page 0, and page 1 at one page size in) are checked first: LMDB's magic and a page size
// that is a power of two from 512 to 64 KiB, with both pages inside the file.
void check_meta_pages(const std::string& data_file, uint64_t file_size) {
  constexpr size_t kMetaAt = 16;                           // after the 16-byte page header
  constexpr size_t kPageSizeAt = kMetaAt + 4 + 4 + 8 + 8;  // mm_dbs[FREE_DBI].md_pad
  std::ifstream in(data_file, std::ios::binary);
  uint32_t first_page_size = 0;
  for (int page = 0; page < 2; ++page) {
    const uint64_t at = uint64_t{first_page_size} * page;
    unsigned char meta[kPageSizeAt + 4] = {};
    in.seekg(static_cast<std::streamoff>(at));
    if (at + sizeof meta > file_size || !in.read(reinterpret_cast<char*>(meta), sizeof meta))
      throw IoError(data_file + ": too short for LMDB's meta page " + std::to_string(page));
    uint32_t magic = 0, page_size = 0;
    std::memcpy(&magic, meta + kMetaAt, 4);
    std::memcpy(&page_size, meta + kPageSizeAt, 4);
    if (magic != 0xBEEFC0DE) throw IoError(data_file + ": meta page " + std::to_string(page) + " has no LMDB magic");
    if (page_size < 512 || page_size > 65536 || (page_size & (page_size - 1)) != 0 ||
        (page == 1 && page_size != first_page_size) || 2 * uint64_t{page_size} > file_size)
      throw IoError(data_file + ": meta page " + std::to_string(page) + " gives a page size of " +
                    std::to_string(page_size) +
                    " (a power of two from 512 to 65536, the same in both, "
                    "within the file's " +
                    std::to_string(file_size) + " bytes)");
    first_page_size = page_size;
  }
}

MappedFile open_read_only(Lmdb& db, const std::string& lmdb_path) {
  const std::string data_file = lmdb_path + "/data.mdb";
  struct stat st {};
  if (::stat(data_file.c_str(), &st) != 0) throw IoError("cannot open LMDB " + data_file + ": " + std::strerror(errno));
  const size_t file_size = static_cast<size_t>(st.st_size);
  check_meta_pages(data_file, file_size);
  check(mdb_env_create(&db.env), lmdb_path, "mdb_env_create");
  check(mdb_env_set_mapsize(db.env, file_size), lmdb_path, "mdb_env_set_mapsize");
  check(mdb_env_open(db.env, lmdb_path.c_str(), MDB_RDONLY | MDB_NOLOCK | MDB_NOTLS, 0444), lmdb_path,
        "cannot open LMDB environment");
  MDB_envinfo info;
  check(mdb_env_info(db.env, &info), lmdb_path, "mdb_env_info");
  if (info.me_mapsize > file_size)
    throw IoError(data_file + ": the LMDB meta page claims " + std::to_string(info.me_mapsize) +
                  " bytes of pages, the file has " + std::to_string(file_size) + " (truncated or corrupt)");
  return find_mappings(st, data_file);
}

// A record's value must lie inside the mapped file: LMDB checks page numbers but takes a value's
// size from the file as it stands, so a forged size would read past the map.
void check_in_map(const MappedFile& map, const MDB_val& value, const std::string& where) {
  const auto at = reinterpret_cast<uintptr_t>(value.mv_data);
  for (const auto& [begin, end] : map.ranges)
    if (at >= begin && at <= end && value.mv_size <= end - at) return;
  throw IoError(where + ": value of " + std::to_string(value.mv_size) + " bytes runs past the end of the data file (" +
                std::to_string(map.size) + " bytes; corrupt LMDB)");
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

namespace {

// Walks every record in a child process first: liblmdb aborts (an assertion) on some corrupt
// pages instead of returning an error. A child killed by a signal means a corrupt file, reported as
// such; the parent walks the same pages only when the child got through them.
void check_walk_in_child(const std::string& lmdb_path) {
  const ExitStatus end = run_in_child(
      [&lmdb_path] {
        for (int sig : {SIGABRT, SIGSEGV, SIGBUS, SIGFPE}) std::signal(sig, SIG_DFL);  // die, do not report
        int status = 0;
        try {
          Lmdb db;
          open_read_only(db, lmdb_path);
          MDB_dbi dbi;
          MDB_val key, value;
          status = mdb_txn_begin(db.env, nullptr, MDB_RDONLY, &db.txn) || mdb_dbi_open(db.txn, nullptr, 0, &dbi) ||
                   mdb_cursor_open(db.txn, dbi, &db.cursor);
          for (int rc = status ? MDB_NOTFOUND : mdb_cursor_get(db.cursor, &key, &value, MDB_FIRST); rc == MDB_SUCCESS;)
            rc = mdb_cursor_get(db.cursor, &key, &value, MDB_NEXT);
        } catch (...) {
          status = 1;  // an error the parent will meet and report itself
        }
        return status ? 1 : 0;
      },
      "check " + lmdb_path);
  if (end.signal)
    throw IoError(lmdb_path + ": corrupt LMDB (liblmdb stopped with signal " + std::to_string(*end.signal) +
                  " while walking its records)");
}

}  // namespace

int64_t read_lsun_lmdb(const std::string& lmdb_path, int image_size, const ImageSink& sink) {
  check_walk_in_child(lmdb_path);
  Lmdb db;
  const MappedFile map = open_read_only(db, lmdb_path);
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
    check_in_map(map, value, where);
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
