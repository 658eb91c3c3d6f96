#include "runner/orchestrate/project_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "base/util/errors.h"

namespace repro::runner {

std::string project_lock_path(const std::string& project_dir) {
  return (std::filesystem::path(project_dir) / "repro.lock").string();
}

ProjectLock::ProjectLock(const std::string& project_dir) {
  auto taken = try_take(project_dir);
  if (!taken)
    throw IoError("another `repro run` (or a `repro cancel`) is working in " + project_dir + " (it holds " +
                  project_lock_path(project_dir) + ")");
  std::swap(fd_, taken->fd_);
}

ProjectLock::~ProjectLock() {
  if (fd_ >= 0) ::close(fd_);
}

std::unique_ptr<ProjectLock> ProjectLock::try_take(const std::string& project_dir) {
  const std::string path = project_lock_path(project_dir);
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw IoError("cannot open " + path + ": " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    ::close(fd);
    if (error == EWOULDBLOCK) return nullptr;
    throw IoError("cannot lock " + path + ": " + std::strerror(error));
  }
  std::unique_ptr<ProjectLock> lock(new ProjectLock());
  lock->fd_ = fd;
  return lock;
}

}  // namespace repro::runner
