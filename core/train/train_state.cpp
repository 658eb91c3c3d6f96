#include "core/train/train_state.h"

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>

#include "base/util/errors.h"
#include "base/util/file_io.h"
#include "base/util/sha256.h"
#include "base/util/strings.h"

namespace repro::core {

namespace fs = std::filesystem;
using nlohmann::json;

std::string tensor_to_hex(const torch::Tensor& t_in) {
  auto t = t_in.contiguous().cpu();
  const auto* p = static_cast<const unsigned char*>(t.data_ptr());
  static const char* kDigits = "0123456789abcdef";
  std::string out(t.nbytes() * 2, '0');
  for (size_t i = 0; i < static_cast<size_t>(t.nbytes()); ++i) {
    out[2 * i] = kDigits[p[i] >> 4];
    out[2 * i + 1] = kDigits[p[i] & 15];
  }
  return out;
}

torch::Tensor tensor_from_hex(const std::string& hex, torch::ScalarType dtype) {
  const int64_t item = c10::elementSize(dtype);
  if (hex.size() % (2 * item) != 0) throw DataError("corrupt hex tensor in a training state file");
  auto t = torch::empty({static_cast<int64_t>(hex.size() / 2 / item)}, torch::TensorOptions().dtype(dtype));
  auto* p = static_cast<unsigned char*>(t.data_ptr());
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    throw DataError("corrupt hex tensor in a training state file");
  };
  for (size_t i = 0; i < hex.size() / 2; ++i)
    p[i] = static_cast<unsigned char>(nibble(hex[2 * i]) * 16 + nibble(hex[2 * i + 1]));
  return t;
}

std::string write_sha256_beside(const std::string& path) {
  const std::string hex = sha256_file_hex(path);
  write_file_atomic(path + ".sha256", hex + "  " + fs::path(path).filename().string() + "\n");
  return hex;
}

void write_train_state(const std::string& dir, const TrainState& s) {
  json j;
  j["format"] = "repro-train-state";
  j["version"] = 1;
  j["step"] = s.step;
  j["sampler"] = s.sampler_state;
  j["data"] = s.data_state;
  j["rng"] = {{"train", s.train_rng}, {"global", s.global_rng}};
  j["files"] = s.files;
  j["lg_loss_scale"] = s.lg_loss_scale;
  j["rng"]["cuda"] = s.cuda_rng;
  j["world_size"] = s.world_size;
  j["rank_rngs"] = json::array();
  for (const auto& [global, cuda] : s.rank_rngs) j["rank_rngs"].push_back({{"global", global}, {"cuda", cuda}});
  char name[32];
  std::snprintf(name, sizeof(name), "state%06lld.json", static_cast<long long>(s.step));
  const std::string path = (fs::path(dir) / name).string();
  write_file_atomic(path, j.dump(1) + "\n");
  write_sha256_beside(path);
}

TrainState read_checkpoint_state(const std::string& dir, int64_t step) {
  char name[32];
  std::snprintf(name, sizeof(name), "state%06lld.json", static_cast<long long>(step));
  std::string why;
  if (auto s = read_state_file((fs::path(dir) / name).string(), &why)) return *s;
  throw IoError("checkpoint at step " + std::to_string(step) + " in " + dir + " is not usable: " + why);
}

std::optional<TrainState> find_latest_valid_checkpoint(const std::string& dir, std::vector<std::string>* warnings) {
  if (!fs::is_directory(dir)) return std::nullopt;
  std::vector<std::pair<int64_t, fs::path>> states;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (const auto step = checkpoint_step(name, "state", ".json")) {
      states.emplace_back(*step, entry.path());
    } else if (warnings && starts_with(name, "state") && name.size() > 10 && ends_with(name, ".json")) {
      warnings->push_back(name + " ignored: not state<step>.json with a step that fits 64 bits");
    }
  }
  std::sort(states.rbegin(), states.rend());
  for (const auto& [step, path] : states) {
    std::string why;
    if (auto s = read_state_file(path.string(), &why)) return s;
    if (warnings) warnings->push_back("checkpoint at step " + std::to_string(step) + " skipped: " + why);
  }
  return std::nullopt;
}

namespace {

// A file LibTorch's archive writer writes into that never reports a failed write to it: after a
// short write its zip writer throws again from its destructor, which ends the process
// (std::terminate). The first error is kept instead, later bytes are dropped, and the caller
// reports it once the archive is done.
class QuietSink {
 public:
  explicit QuietSink(const std::string& path)
      : fd_(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666)) {
    if (fd_ < 0) error_ = errno;
  }
  ~QuietSink() {
    if (fd_ >= 0) ::close(fd_);
  }
  QuietSink(const QuietSink&) = delete;
  QuietSink& operator=(const QuietSink&) = delete;

  size_t write(const void* data, size_t size) {
    const char* p = static_cast<const char*>(data);
    for (size_t left = size; left > 0 && error_ == 0;) {
      const ssize_t n = ::write(fd_, p, left);
      if (n < 0) {
        if (errno != EINTR) error_ = errno;
        continue;
      }
      p += n;
      left -= static_cast<size_t>(n);
    }
    return size;
  }
  // The first error of open, write or close (0: none).
  int close() {
    if (fd_ >= 0 && ::close(fd_) != 0 && error_ == 0) error_ = errno;
    fd_ = -1;
    return error_;
  }

 private:
  int fd_;
  int error_ = 0;
};

}  // namespace

void write_optimizer_state(const torch::optim::Optimizer& optimizer, const std::string& path) {
  const std::string tmp = atomic_temp_path(path);
  auto fail = [&](const std::string& why) {
    std::error_code ec;
    fs::remove(tmp, ec);
    throw IoError("cannot write " + path + ": " + why);
  };
  int error = 0;
  {
    QuietSink sink(tmp);
    try {
      torch::save(optimizer, std::function<size_t(const void*, size_t)>(
                                 [&sink](const void* data, size_t size) { return sink.write(data, size); }));
    } catch (const c10::Error& e) {
      fail(e.what_without_backtrace());
    }
    error = sink.close();
  }
  if (error != 0) fail(std::strerror(error));
  commit_temp_file(tmp, path);
}

namespace {

// True when `pid` names no process here. EPERM (someone else's live process) counts as alive.
bool process_gone(int pid) { return ::kill(pid, 0) == -1 && errno == ESRCH; }

void sweep_dir(const fs::path& dir, std::vector<std::string>& removed) {
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const auto pid = temp_file_pid(it->path().filename().string());
    if (!pid || *pid == ::getpid() || !it->is_regular_file(ec) || it->is_symlink(ec) || !process_gone(*pid)) continue;
    std::error_code rm;
    if (fs::remove(it->path(), rm)) removed.push_back(it->path().string());
  }
}

}  // namespace

std::vector<std::string> sweep_stale_temp_files(const std::string& run_dir) {
  std::vector<std::string> removed;
  sweep_dir(run_dir, removed);
  sweep_dir(fs::path(run_dir) / "checkpoints", removed);
  return removed;
}

}  // namespace repro::core
