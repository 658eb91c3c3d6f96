#include "datasets/cifar10.h"

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <map>
#include <memory>

#include "base/util/errors.h"
#include "datasets/planar.h"

namespace repro::datasets {
namespace {

using Archive = std::unique_ptr<struct archive, decltype(&archive_read_free)>;

std::string base_name(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string archive_error(struct archive* a) {
  const char* s = archive_error_string(a);
  return s ? s : "unknown libarchive error";
}

// The official batches hold exactly 10,000 records; a test fixture or a subset holds fewer.
constexpr int64_t kBatchRecords = 10000;
constexpr int64_t kBatchBytes = kBatchRecords * kCifar10RecordBytes;

// The size a member's tar header declares, checked before any of it is read or held: a whole
// number of records, at most one official batch. `where` is "<archive>: <member>".
void check_member_size(const std::string& where, int64_t size) {
  if (size == 0) throw DataError(where + ": empty");
  if (size < 0 || size > kBatchBytes)
    throw DataError(where + ": tar header declares " + std::to_string(size) + " bytes, a CIFAR-10 batch is at most " +
                    std::to_string(kBatchBytes) + " (" + std::to_string(kBatchRecords) + " records of " +
                    std::to_string(kCifar10RecordBytes) + ")");
  if (size % kCifar10RecordBytes != 0) {
    constexpr int64_t k64 = 1 + 3 * 64 * 64;
    throw DataError(where + ": " + std::to_string(size) + " bytes is not a whole number of " +
                    std::to_string(kCifar10RecordBytes) + "-byte records (1 label + 3x32x32); record " +
                    std::to_string(size / kCifar10RecordBytes) + " is cut short" +
                    (size % k64 == 0 ? " (the size fits 64x64 records: not CIFAR-10)" : ""));
  }
}

// One member's data, exactly the `declared` bytes its header promised (already checked).
std::string read_member_data(struct archive* a, const std::string& where, int64_t declared) {
  std::string bytes;
  bytes.reserve(static_cast<size_t>(declared));
  char buf[1 << 16];
  for (;;) {
    const la_ssize_t n = archive_read_data(a, buf, sizeof buf);
    if (n < 0) throw IoError(where + ": " + archive_error(a) + " (truncated or corrupt)");
    if (n == 0) break;
    if (static_cast<int64_t>(bytes.size()) + n > declared)
      throw IoError(where + ": more data than the " + std::to_string(declared) + " bytes its tar header declares");
    bytes.append(buf, static_cast<size_t>(n));
  }
  if (static_cast<int64_t>(bytes.size()) != declared)
    throw IoError(where + ": read " + std::to_string(bytes.size()) + " of " + std::to_string(declared) +
                  " bytes (truncated)");
  return bytes;
}

// The wanted members' bytes. A .tar.gz can only be read front to back and the official tarball
// stores the batches out of order, so the (at most 6 x 30.7 MB of) wanted members are held until
// all are read.
std::map<std::string, std::string> read_members(const std::string& archive_path,
                                                const std::vector<std::string>& wanted) {
  Archive a(archive_read_new(), &archive_read_free);
  archive_read_support_filter_all(a.get());
  archive_read_support_format_tar(a.get());
  archive_read_support_format_gnutar(a.get());
  if (archive_read_open_filename(a.get(), archive_path.c_str(), 1 << 20) != ARCHIVE_OK)
    throw IoError(archive_path + ": " + archive_error(a.get()));
  std::map<std::string, std::string> members;
  std::string last = "(start of archive)";
  for (;;) {
    struct archive_entry* entry = nullptr;
    const int rc = archive_read_next_header(a.get(), &entry);
    if (rc == ARCHIVE_EOF) break;
    if (rc < ARCHIVE_WARN) throw IoError(archive_path + ": after member " + last + ": " + archive_error(a.get()));
    const char* path = archive_entry_pathname(entry);  // null for a header without a name
    if (!path) throw IoError(archive_path + ": after member " + last + ": a member without a name");
    last = path;
    const std::string name = base_name(last);
    bool want = archive_entry_filetype(entry) == AE_IFREG;
    want = want && std::find(wanted.begin(), wanted.end(), name) != wanted.end() && !members.count(name);
    if (!want) continue;  // archive_read_next_header skips the data
    if (!archive_entry_size_is_set(entry))
      throw DataError(archive_path + ": " + name + ": tar header declares no size");
    check_member_size(archive_path + ": " + name, archive_entry_size(entry));
    members[name] = read_member_data(a.get(), archive_path + ": " + last, archive_entry_size(entry));
  }
  return members;
}

}  // namespace

std::vector<std::string> cifar10_members(Cifar10Split split) {
  if (split == Cifar10Split::kTest) return {"test_batch.bin"};
  return {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"};
}

int64_t read_cifar10_archive(const std::string& archive_path, Cifar10Split split, const ImageSink& sink) {
  const std::vector<std::string> wanted = cifar10_members(split);
  const std::map<std::string, std::string> members = read_members(archive_path, wanted);
  int64_t count = 0;
  uint8_t hwc[kCifar10Size * kCifar10Size * 3];
  for (const std::string& name : wanted) {
    const auto it = members.find(name);
    if (it == members.end())
      throw DataError(archive_path + ": no member " + name +
                      " (the binary version, cifar-10-binary.tar.gz, has "
                      "cifar-10-batches-bin/data_batch_1..5.bin and test_batch.bin)");
    const std::string& bytes = it->second;  // whole records (check_member_size)
    const std::string where = archive_path + ": " + name;
    const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
    for (size_t r = 0; r < bytes.size() / kCifar10RecordBytes; ++r, p += kCifar10RecordBytes) {
      if (p[0] > 9)
        throw DataError(where + ": record " + std::to_string(r) + " has label " + std::to_string(p[0]) +
                        ", CIFAR-10 labels are 0..9 (wrong record layout?)");
      planar_to_hwc(p + 1, kCifar10Size, kCifar10Size, hwc);
      sink(hwc, p[0]);
      ++count;
    }
  }
  return count;
}

}  // namespace repro::datasets
