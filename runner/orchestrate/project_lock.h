#pragma once
// <project>/repro.lock: held (flock) by the `repro run` working in a project, and by `repro cancel`
// while it cancels runs with no `repro run` alive. The kernel drops the lock when its process
// dies, even by SIGKILL, so a held lock means a live holder. docs/runner.md, "Files".
#include <memory>
#include <string>

namespace repro::runner {

// <project_dir>/repro.lock
std::string project_lock_path(const std::string& project_dir);

class ProjectLock {
 public:
  // Takes the lock (the file is created when missing). Throws IoError when another process holds
  // it ("another `repro run` is working in ...") or the file cannot be opened.
  explicit ProjectLock(const std::string& project_dir);
  ~ProjectLock();
  ProjectLock(const ProjectLock&) = delete;
  ProjectLock& operator=(const ProjectLock&) = delete;

  // The lock, or nullptr when another process holds it. Throws IoError when the file cannot be
  // opened (a project directory that does not exist, or is not writable).
  static std::unique_ptr<ProjectLock> try_take(const std::string& project_dir);

 private:
  ProjectLock() = default;
  int fd_ = -1;
};

}  // namespace repro::runner
