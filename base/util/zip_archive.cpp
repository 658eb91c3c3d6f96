#include "base/util/zip_archive.h"

#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

#include <set>

#include "base/util/errors.h"
#include "base/util/file_io.h"
#include "base/util/limits.h"

namespace repro {

namespace {

std::string archive_error(zip_t* za) { return zip_error_strerror(zip_get_error(za)); }

// An empty archive is just the end-of-central-directory record; libzip refuses to create one.
const std::string kEmptyZip("PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 22);

}  // namespace

ZipReader::ZipReader(const std::string& path) : path_(path) {
  int code = 0;
  archive_ = zip_open(path.c_str(), ZIP_RDONLY, &code);
  if (!archive_) {
    zip_error_t err;
    zip_error_init_with_code(&err, code);
    std::string msg = zip_error_strerror(&err);
    zip_error_fini(&err);
    throw IoError("failed to open zip archive " + path + ": " + msg);
  }
  struct stat sb {};
  if (::stat(path.c_str(), &sb) == 0) file_bytes_ = static_cast<uint64_t>(sb.st_size);
}

ZipReader::~ZipReader() {
  if (archive_) zip_discard(archive_);
}

ZipReader::ZipReader(ZipReader&& other) noexcept
    : path_(std::move(other.path_)), archive_(other.archive_), file_bytes_(other.file_bytes_) {
  other.archive_ = nullptr;
}

ZipReader& ZipReader::operator=(ZipReader&& other) noexcept {
  if (this != &other) {
    if (archive_) zip_discard(archive_);
    path_ = std::move(other.path_);
    archive_ = other.archive_;
    file_bytes_ = other.file_bytes_;
    other.archive_ = nullptr;
  }
  return *this;
}

std::vector<std::string> ZipReader::names() const {
  std::vector<std::string> out;
  zip_int64_t n = zip_get_num_entries(archive_, 0);
  for (zip_int64_t i = 0; i < n; ++i) {
    const char* name = zip_get_name(archive_, static_cast<zip_uint64_t>(i), 0);
    if (!name)
      throw IoError("zip archive " + path_ + ": entry " + std::to_string(i) +
                    " has no readable name: " + archive_error(archive_));
    out.emplace_back(name);
  }
  return out;
}

bool ZipReader::contains(const std::string& name) const { return zip_name_locate(archive_, name.c_str(), 0) >= 0; }

void ZipReader::check_entry_size(const zip_stat_t& st, const std::string& name) const {
  // The directory's sizes are the file's claims: bound them by what the archive can hold before
  // allocating. A stored entry is its compressed bytes; deflate expands at most 1032:1.
  const std::string what = path_ + ": zip entry '" + name + "'";
  if (!(st.valid & ZIP_STAT_COMP_SIZE) || !(st.valid & ZIP_STAT_COMP_METHOD))
    throw IoError(what + ": the directory gives no compressed size or method");
  if (st.comp_size > file_bytes_)
    throw IoError(what + ": compressed size " + std::to_string(st.comp_size) + " is larger than the archive (" +
                  std::to_string(file_bytes_) + " bytes)");
  if (st.comp_method == ZIP_CM_STORE && st.size != st.comp_size)
    throw IoError(what + ": stored entry claims " + std::to_string(st.size) + " bytes but holds " +
                  std::to_string(st.comp_size));
  const uint64_t bound = checked_mul(st.comp_size, ResourceLimits::kMaxDeflateRatio, what);
  if (st.size > bound)
    throw IoError(what + ": claims " + std::to_string(st.size) + " bytes from " + std::to_string(st.comp_size) +
                  " compressed, more than deflate's 1032:1 allows");
}

zip_stat_t ZipReader::stat_entry(const std::string& name, uint64_t& index) const {
  const zip_int64_t found = zip_name_locate(archive_, name.c_str(), 0);
  if (found < 0) throw IoError("zip archive " + path_ + " has no entry '" + name + "'");
  index = static_cast<zip_uint64_t>(found);
  zip_stat_t st;
  zip_stat_init(&st);
  if (zip_stat_index(archive_, index, 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE))
    throw IoError("zip archive " + path_ + ": cannot stat entry '" + name + "': " + archive_error(archive_));
  check_entry_size(st, name);
  return st;
}

uint64_t ZipReader::entry_size(const std::string& name) const {
  uint64_t index = 0;
  return stat_entry(name, index).size;
}

std::string ZipReader::read(const std::string& name) const {
  std::string out;
  read_into(name, out);
  return out;
}

void ZipReader::read_into(const std::string& name, std::string& out) const {
  uint64_t idx = 0;
  const zip_stat_t st = stat_entry(name, idx);
  check_alloc(st.size, path_ + ": zip entry '" + name + "'");
  zip_file_t* file = zip_fopen_index(archive_, idx, 0);
  if (!file) throw IoError("zip archive " + path_ + ": cannot open entry '" + name + "': " + archive_error(archive_));
  out.assign(static_cast<size_t>(st.size), '\0');
  zip_uint64_t done = 0;
  std::string error;
  while (done < st.size) {
    zip_int64_t n = zip_fread(file, &out[done], st.size - done);
    if (n < 0) {
      error = zip_error_strerror(zip_file_get_error(file));
      break;
    }
    if (n == 0) {
      error = "entry ends after " + std::to_string(done) + " of " + std::to_string(st.size) + " bytes";
      break;
    }
    done += static_cast<zip_uint64_t>(n);
  }
  // libzip verifies the CRC only when the whole entry has been read; one more read triggers it.
  if (error.empty()) {
    char probe;
    if (zip_fread(file, &probe, 1) < 0) error = zip_error_strerror(zip_file_get_error(file));
  }
  zip_fclose(file);
  if (!error.empty()) throw IoError("zip archive " + path_ + ": cannot read entry '" + name + "': " + error);
}

void write_zip(const std::string& path, const std::vector<std::pair<std::string, std::string>>& entries) {
  std::vector<ZipEntryView> views;
  views.reserve(entries.size());
  for (const auto& [name, bytes] : entries) views.push_back({name, bytes});
  write_zip_views(path, views);
}

void write_zip_views(const std::string& path, const std::vector<ZipEntryView>& entries) {
  std::set<std::string> seen;
  for (const ZipEntryView& entry : entries) {
    const std::string& name = entry.name;
    if (name.empty()) throw IoError("cannot write zip archive " + path + ": empty entry name");
    if (!seen.insert(name).second)
      throw IoError("cannot write zip archive " + path + ": duplicate entry '" + name + "'");
  }
  if (entries.empty()) {
    write_file_atomic(path, kEmptyZip);
    return;
  }

  const std::string temp = atomic_temp_path(path);
  int code = 0;
  zip_t* za = zip_open(temp.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &code);
  if (!za) {
    zip_error_t err;
    zip_error_init_with_code(&err, code);
    std::string msg = zip_error_strerror(&err);
    zip_error_fini(&err);
    ::unlink(temp.c_str());
    throw IoError("cannot write zip archive " + path + ": " + msg);
  }
  auto fail = [&](const std::string& what) {
    std::string msg = archive_error(za);
    zip_discard(za);
    ::unlink(temp.c_str());
    throw IoError("cannot write zip archive " + path + ": " + what + ": " + msg);
  };
  for (const auto& [name, bytes] : entries) {
    // No copy: the caller's strings outlive zip_close below.
    zip_source_t* src = zip_source_buffer(za, bytes.data(), bytes.size(), 0);
    if (!src) fail("entry '" + name + "'");
    zip_int64_t index = zip_file_add(za, name.c_str(), src, ZIP_FL_ENC_UTF_8);
    if (index < 0) {
      zip_source_free(src);
      fail("entry '" + name + "'");
    }
    const auto idx = static_cast<zip_uint64_t>(index);
    // DOS date 1980-01-01 00:00: reproducible bytes regardless of clock and time zone.
    if (zip_set_file_compression(za, idx, ZIP_CM_STORE, 0) != 0 ||
        zip_file_set_dostime(za, idx, 0, (1 << 5) | 1, 0) != 0)
      fail("entry '" + name + "'");
  }
  if (zip_close(za) != 0) fail("close");
  commit_temp_file(temp, path);
}

}  // namespace repro
