#include "base/util/file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "base/util/errors.h"
#include "base/util/unique_fd.h"

namespace repro {

namespace {

std::string errno_text(int err) { return std::strerror(err); }

std::string parent_dir(const std::string& path) {
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

void fsync_dir_best_effort(const std::string& path) {
  int fd = ::open(parent_dir(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);  // some filesystems refuse fsync on directories; the rename already happened
  ::close(fd);
}

[[noreturn]] void fail_write(const std::string& temp, const std::string& path, int err, const std::string& step) {
  ::unlink(temp.c_str());
  throw IoError("cannot write " + path + ": " + step + ": " + errno_text(err));
}

// The last steps of every atomic write, once `temp` is durable: the rename, then the directory.
void rename_over(const std::string& temp, const std::string& path) {
  if (::rename(temp.c_str(), path.c_str()) != 0) fail_write(temp, path, errno, "rename " + temp);
  fsync_dir_best_effort(path);
}

}  // namespace

std::string read_file(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) throw IoError("cannot read " + path + ": " + errno_text(errno));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw IoError("cannot read " + path + ": " + errno_text(errno));
  if (S_ISDIR(st.st_mode)) throw IoError("cannot read " + path + ": " + errno_text(EISDIR));
  std::string out;
  if (S_ISREG(st.st_mode) && st.st_size > 0) out.reserve(static_cast<size_t>(st.st_size));
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw IoError("cannot read " + path + ": " + errno_text(errno));
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

std::string atomic_temp_path(const std::string& path) { return path + ".tmp-" + std::to_string(::getpid()); }

void commit_temp_file(const std::string& temp, const std::string& path) {
  {
    UniqueFd fd(::open(temp.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) fail_write(temp, path, errno, "open " + temp);
    if (::fsync(fd.get()) != 0) fail_write(temp, path, errno, "fsync " + temp);
  }
  rename_over(temp, path);
}

void write_file_atomic(const std::string& path, const std::string& bytes) {
  const std::string temp = atomic_temp_path(path);
  UniqueFd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666));
  if (fd.get() < 0) throw IoError("cannot write " + path + ": " + errno_text(errno));
  const char* p = bytes.data();
  size_t left = bytes.size();
  while (left > 0) {
    ssize_t n = ::write(fd.get(), p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail_write(temp, path, errno, "write " + temp);
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  if (::fsync(fd.get()) != 0) fail_write(temp, path, errno, "fsync " + temp);
  if (int err = fd.close_checked()) fail_write(temp, path, err, "close " + temp);
  rename_over(temp, path);
}

}  // namespace repro
