#include "datasets/packed_dataset.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "base/util/errors.h"
#include "base/util/file_io.h"
#include "base/util/npy.h"
#include "base/util/sha256.h"

namespace repro::datasets {
namespace {

void expect(bool ok, const std::string& path, const std::string& what) {
  if (!ok) throw IoError(path + ": " + what);
}

// A manifest lists one line per source file: a few megabytes for millions of images. A larger
// one is not ours, and is refused before it is read.
constexpr uint64_t kMaxManifestBytes = uint64_t{256} << 20;

void check_manifest_size(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw IoError("cannot read " + path + ": " + std::strerror(errno));
  if (static_cast<uint64_t>(st.st_size) > kMaxManifestBytes)
    throw IoError(path + ": " + std::to_string(st.st_size) + " bytes, more than a manifest's limit of " +
                  std::to_string(kMaxManifestBytes));
}

std::string hash_of(const uint8_t* data, size_t size) {
  Sha256Stream s;
  s.update(data, size);
  return s.finish_hex();
}

}  // namespace

PackedDataset PackedDataset::open(const std::string& dir) {
  PackedDataset d;
  d.dir_ = dir;
  d.data_path_ = dir + "/" + kPackedDataFile;
  const std::string manifest_path = dir + "/" + kPackedManifestFile;
  if (::access(manifest_path.c_str(), F_OK) != 0)
    throw IoError(dir + ": no " + std::string(kPackedManifestFile) +
                  " (not a prepared dataset, or its prepare did not finish)");
  check_manifest_size(manifest_path);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_file(manifest_path));
  } catch (const nlohmann::json::exception& e) {
    throw IoError(manifest_path + ": not valid JSON: " + e.what());
  }
  d.manifest_ = PackedManifest::from_json(j, manifest_path);
  const PackedManifest& m = d.manifest_;
  expect(m.format_version == kPackedFormatVersion, manifest_path,
         "format_version " + std::to_string(m.format_version) + ", this build reads " +
             std::to_string(kPackedFormatVersion));

  const int fd = ::open(d.data_path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw IoError("cannot read " + d.data_path_ + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    throw IoError("cannot read " + d.data_path_ + ": " + std::strerror(err));
  }
  const uint64_t actual = static_cast<uint64_t>(st.st_size);
  if (actual < sizeof(PackedHeader)) {
    ::close(fd);
    throw IoError(d.data_path_ + ": " + std::to_string(actual) + " bytes, shorter than the 64-byte header");
  }
  void* map = ::mmap(nullptr, actual, PROT_READ, MAP_SHARED, fd, 0);
  const int map_err = errno;
  ::close(fd);  // the mapping keeps the file
  if (map == MAP_FAILED) throw IoError("cannot mmap " + d.data_path_ + ": " + std::strerror(map_err));
  d.map_ = static_cast<const uint8_t*>(map);
  d.map_bytes_ = actual;

  std::memcpy(&d.header_, d.map_, sizeof(PackedHeader));
  const PackedHeader& h = d.header_;
  const std::string& p = d.data_path_;
  expect(std::memcmp(h.magic, "RPACKED", 8) == 0, p, "bad magic (not a packed dataset file)");
  expect(h.format_version == kPackedFormatVersion, p, "format_version " + std::to_string(h.format_version));
  // The header must be exactly what the writer makes for its own count and shape.
  PackedHeader want{};
  try {
    want = make_packed_header(h.count, h.height, h.width, h.channels, h.has_labels != 0);
  } catch (const DataError& e) {
    throw IoError(p + ": " + e.what());
  }
  expect(std::memcmp(&h, &want, sizeof h) == 0 && h.channels == 3 && h.height > 0 && h.width > 0, p,
         "inconsistent header (offsets or sizes do not follow from count " + std::to_string(h.count) + ")");
  const std::vector<int64_t> shape = {static_cast<int64_t>(h.count), h.height, h.width, h.channels};
  expect(m.count == static_cast<int64_t>(h.count) && m.shape == shape && m.has_labels == (h.has_labels != 0), p,
         "header (count " + std::to_string(h.count) + ", shape " + shape_repr(shape) + ") does not match " +
             manifest_path + " (count " + std::to_string(m.count) + ", shape " + shape_repr(m.shape) + ")");
  expect(h.file_bytes == m.data_bytes, p,
         "header says " + std::to_string(h.file_bytes) + " bytes, manifest " + std::to_string(m.data_bytes));
  expect(actual == h.file_bytes, p,
         "file is " + std::to_string(actual) + " bytes, expected " + std::to_string(h.file_bytes) +
             (actual < h.file_bytes ? " (truncated)" : " (trailing bytes)"));
  return d;
}

PackedDataset::PackedDataset(PackedDataset&& o) noexcept
    : dir_(std::move(o.dir_)),
      data_path_(std::move(o.data_path_)),
      manifest_(std::move(o.manifest_)),
      header_(o.header_),
      map_(std::exchange(o.map_, nullptr)),
      map_bytes_(std::exchange(o.map_bytes_, 0)) {}

PackedDataset& PackedDataset::operator=(PackedDataset&& o) noexcept {
  if (this != &o) {
    if (map_) ::munmap(const_cast<uint8_t*>(map_), map_bytes_);
    dir_ = std::move(o.dir_);
    data_path_ = std::move(o.data_path_);
    manifest_ = std::move(o.manifest_);
    header_ = o.header_;
    map_ = std::exchange(o.map_, nullptr);
    map_bytes_ = std::exchange(o.map_bytes_, 0);
  }
  return *this;
}

PackedDataset::~PackedDataset() {
  if (map_) ::munmap(const_cast<uint8_t*>(map_), map_bytes_);
}

const uint8_t* PackedDataset::image(int64_t i) const {
  REPRO_CHECK(i >= 0 && i < size(), "PackedDataset::image index out of range");
  return map_ + header_.images_offset + static_cast<size_t>(i) * bytes_per_image();
}

int64_t PackedDataset::label(int64_t i) const {
  if (!has_labels()) throw DataError(data_path_ + ": has no labels");
  REPRO_CHECK(i >= 0 && i < size(), "PackedDataset::label index out of range");
  int64_t v;
  std::memcpy(&v, map_ + header_.labels_offset + 8 * static_cast<size_t>(i), 8);
  return v;
}

void PackedDataset::verify_content() const {
  const std::string got = hash_of(map_ + header_.images_offset, static_cast<size_t>(size()) * bytes_per_image());
  if (got != manifest_.fingerprint)
    throw IoError(data_path_ + ": content fingerprint " + got + " does not match manifest " + manifest_.fingerprint +
                  " (the images changed after prepare)");
  if (has_labels()) {
    const std::string lab = hash_of(map_ + header_.labels_offset, 8 * static_cast<size_t>(size()));
    if (lab != manifest_.labels_sha256)
      throw IoError(data_path_ + ": labels SHA-256 " + lab + " does not match manifest " + manifest_.labels_sha256);
  }
}

}  // namespace repro::datasets
