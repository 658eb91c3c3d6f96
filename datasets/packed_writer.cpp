#include "datasets/packed_writer.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "base/util/errors.h"
#include "base/util/file_io.h"

namespace repro::datasets {
namespace {

constexpr size_t kBufferBytes = 8 << 20;  // large sequential writes; the page cache does the rest

void write_all(int fd, const void* data, size_t size, uint64_t offset, const std::string& path) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::pwrite(fd, p, size, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw IoError("cannot write " + path + ": " + std::strerror(errno));
    }
    p += n;
    size -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
}

}  // namespace

PackedWriter::PackedWriter(const std::string& dir, int height, int width, bool has_labels)
    : dir_(dir), height_(height), width_(width), has_labels_(has_labels) {
  if (height < 1 || width < 1)
    throw DataError("packed dataset " + dir + ": image size must be positive, got " + std::to_string(height) + "x" +
                    std::to_string(width));
  std::error_code ec;
  created_dir_ = std::filesystem::create_directories(dir, ec);
  if (ec) throw IoError("cannot create " + dir + ": " + ec.message());
  partial_path_ = dir + "/" + kPackedDataFile + ".partial";
  // Lock before touching anything: a second writer must neither wipe the first one's file nor
  // its directory's state. O_TRUNC would happen before the lock, hence ftruncate after it.
  fd_ = ::open(partial_path_.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
  if (fd_ < 0) throw IoError("cannot write " + partial_path_ + ": " + std::strerror(errno));
  const auto fail = [&](const std::string& what) {
    const int err = errno;
    ::close(fd_);
    fd_ = -1;
    throw IoError(what + ": " +
                  (err == EWOULDBLOCK ? std::string("another prepare is writing this directory") : std::strerror(err)));
  };
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) fail("cannot write " + partial_path_);
  const std::string manifest = dir + "/" + kPackedManifestFile;
  if (::unlink(manifest.c_str()) != 0 && errno != ENOENT) fail("cannot remove " + manifest);
  if (::ftruncate(fd_, 0) != 0) fail("cannot truncate " + partial_path_);
  const PackedHeader placeholder{};  // all zero: an unfinished file has no valid magic
  write_all(fd_, &placeholder, sizeof placeholder, 0, partial_path_);
  written_ = sizeof placeholder;
  buffer_.reserve(kBufferBytes);
}

PackedWriter::~PackedWriter() {
  if (fd_ >= 0) ::close(fd_);
  if (finished_) return;
  ::unlink(partial_path_.c_str());
  // A failed prepare leaves nothing behind: the directory too, when this writer made it.
  if (created_dir_) ::rmdir(dir_.c_str());
}

void PackedWriter::flush() {
  write_all(fd_, buffer_.data(), buffer_.size(), written_, partial_path_);
  written_ += buffer_.size();
  buffer_.clear();
}

void PackedWriter::add(const uint8_t* image, int64_t label) {
  REPRO_CHECK(!finished_, "PackedWriter::add after finish");
  const size_t n = static_cast<size_t>(height_) * width_ * 3;
  fingerprint_.update(image, n);
  buffer_.insert(buffer_.end(), image, image + n);
  if (buffer_.size() >= kBufferBytes) flush();
  if (has_labels_) labels_.push_back(label);
  ++count_;
}

ImageSink PackedWriter::sink() {
  return [this](const uint8_t* image, int64_t label) { add(image, label); };
}

PackedManifest PackedWriter::finish(const nlohmann::json& recipe, int recipe_version,
                                    std::vector<PackedSource> sources) {
  REPRO_CHECK(!finished_, "PackedWriter::finish called twice");
  if (count_ == 0) throw DataError("packed dataset " + dir_ + ": no images were added");
  flush();
  const PackedHeader header = make_packed_header(static_cast<uint64_t>(count_), static_cast<uint32_t>(height_),
                                                 static_cast<uint32_t>(width_), 3, has_labels_);
  REPRO_CHECK(written_ == header.images_offset + static_cast<uint64_t>(count_) * height_ * width_ * 3,
              "packed image bytes out of step with the count");
  PackedManifest m;
  if (has_labels_) {
    const std::vector<uint8_t> pad(header.labels_offset - written_, 0);
    write_all(fd_, pad.data(), pad.size(), written_, partial_path_);
    write_all(fd_, labels_.data(), labels_.size() * 8, header.labels_offset, partial_path_);
    Sha256Stream labels_hash;
    labels_hash.update(labels_.data(), labels_.size() * 8);
    m.labels_sha256 = labels_hash.finish_hex();
  }
  write_all(fd_, &header, sizeof header, 0, partial_path_);
  const std::string data_path = dir_ + "/" + kPackedDataFile;
  commit_temp_file(partial_path_, data_path);  // fsync + rename; the lock goes with the fd below
  finished_ = true;
  ::close(fd_);
  fd_ = -1;

  m.count = count_;
  m.shape = {count_, height_, width_, 3};
  m.has_labels = has_labels_;
  m.data_bytes = header.file_bytes;
  m.fingerprint = fingerprint_.finish_hex();
  m.recipe = recipe;
  m.recipe_version = recipe_version;
  m.sources = std::move(sources);
  write_file_atomic(dir_ + "/" + kPackedManifestFile, m.to_json().dump(2) + "\n");
  return m;
}

}  // namespace repro::datasets
