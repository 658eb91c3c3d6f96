#pragma once
// Thin wrapper over libzip for the zip containers used by .npz files and torch.save checkpoints.
// Torch-free.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

struct zip;
struct zip_stat;

namespace repro {

// A zip archive opened read-only. Not thread-safe: use one reader per thread.
class ZipReader {
 public:
  // Throws IoError "failed to open zip archive <path>: <libzip message>".
  explicit ZipReader(const std::string& path);
  ~ZipReader();
  ZipReader(const ZipReader&) = delete;
  ZipReader& operator=(const ZipReader&) = delete;
  ZipReader(ZipReader&& other) noexcept;
  ZipReader& operator=(ZipReader&& other) noexcept;

  const std::string& path() const { return path_; }
  // Entry names in central-directory order (directory entries included, ending in '/').
  std::vector<std::string> names() const;
  bool contains(const std::string& name) const;
  // The whole uncompressed entry (stored or deflated). Throws IoError naming the archive and the
  // entry when it is missing, fails its CRC or is shorter than the directory says, or when its
  // declared size cannot be true (a stored entry larger than its compressed bytes, a deflated one
  // past deflate's 1032:1 ratio, compressed bytes larger than the archive); DataError when it is
  // above resource_limits().max_alloc_bytes. Nothing is allocated before these checks.
  std::string read(const std::string& name) const;
  // As read, into `out` (resized to the entry's size): lets a caller reuse the buffer in place.
  void read_into(const std::string& name, std::string& out) const;
  // The entry's uncompressed size as the directory gives it, checked as read checks it (IoError
  // when missing or when the size cannot be true) but without reading the bytes or applying the
  // allocation limit: what a reader of a tensor's shape needs from a storage it does not load.
  uint64_t entry_size(const std::string& name) const;

 private:
  // Throws IoError when the directory's sizes cannot be true (read's checks before allocating).
  void check_entry_size(const struct zip_stat& st, const std::string& name) const;
  // The entry's directory record, located and checked (check_entry_size); `index` set to its index.
  struct zip_stat stat_entry(const std::string& name, uint64_t& index) const;

  std::string path_;
  struct zip* archive_ = nullptr;
  uint64_t file_bytes_ = 0;  // the archive's size on disk: no entry can hold more compressed bytes
};

// Writes a new archive holding `entries` (name, bytes) in the given order, all STORED
// (uncompressed), with a fixed timestamp so equal input gives equal bytes. Atomic like
// write_file_atomic: built at `path + ".tmp-<pid>"`, fsynced and renamed over `path`; on failure
// the temp file is removed and IoError is thrown, leaving any old `path` untouched.
// Precondition: names are unique and non-empty (IoError otherwise).
void write_zip(const std::string& path, const std::vector<std::pair<std::string, std::string>>& entries);

// One entry for write_zip_views: the bytes are borrowed, not copied, and must stay alive for the
// duration of the call (large checkpoints are written without a second in-memory copy).
struct ZipEntryView {
  std::string name;
  std::string_view bytes;
};

// write_zip over borrowed bytes; same format, atomicity and errors.
void write_zip_views(const std::string& path, const std::vector<ZipEntryView>& entries);

}  // namespace repro
