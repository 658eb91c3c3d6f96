#include "runner/gc/latest_checkpoint.h"

#include <algorithm>
#include <filesystem>
#include <functional>
#include <system_error>

#include "base/train/keep_policy.h"
#include "base/train/state_file.h"

namespace repro::runner {

namespace fs = std::filesystem;

std::optional<int64_t> latest_complete_checkpoint(const std::string& checkpoints_dir,
                                                  std::vector<std::string>* skipped) {
  std::vector<std::pair<int64_t, fs::path>> states;
  std::error_code ec;
  fs::directory_iterator it(checkpoints_dir, ec), end;
  if (ec == std::errc::no_such_file_or_directory) return std::nullopt;  // no checkpoint yet
  for (; !ec && it != end; it.increment(ec)) {
    const auto f = core::classify_checkpoint_file(it->path().filename().string());
    if (f && f->kind == core::CheckpointFile::Kind::kState && !f->checksum) states.emplace_back(f->step, it->path());
  }
  if (ec) {  // a listing cut short might lack the newest: then none is taken (gc deletes nothing)
    if (skipped) skipped->push_back("cannot list " + checkpoints_dir + ": " + ec.message());
    return std::nullopt;
  }
  std::sort(states.begin(), states.end(), std::greater<>());
  for (const auto& [step, path] : states) {
    std::string why;  // the resume's own rule: read_state_file takes exactly what it would read
    if (core::read_state_file(path.string(), &why)) return step;
    if (skipped) skipped->push_back("checkpoint at step " + std::to_string(step) + " is not complete: " + why);
  }
  return std::nullopt;
}

}  // namespace repro::runner
