#include "tasks/provenance.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

#include "core/util/device.h"
#include "repro/build_info.h"

namespace repro::tasks {
namespace fs = std::filesystem;

namespace {

// The value of the first "<key>:" line of a /proc-style file, trimmed; "" when absent.
std::string proc_field(const fs::path& file, const std::string& key) {
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) != 0) continue;
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    value.erase(value.find_last_not_of(" \t\r") + 1);
    return value;
  }
  return "";
}

// The GPU models the NVIDIA driver lists (one entry per distinct model, "2x NVIDIA H100 80GB HBM3").
// Read from /proc so that the CPU build, which has no CUDA headers, records them too.
std::string gpu_models() {
  const fs::path root = "/proc/driver/nvidia/gpus";
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return "";
  std::vector<std::string> models;
  for (const auto& gpu : fs::directory_iterator(root, ec)) {
    const std::string model = proc_field(gpu.path() / "information", "Model");
    if (!model.empty()) models.push_back(model);
  }
  std::sort(models.begin(), models.end());
  std::string out;
  for (const auto& m : std::set<std::string>(models.begin(), models.end())) {
    if (!out.empty()) out += ", ";
    out += std::to_string(std::count(models.begin(), models.end(), m)) + "x " + m;
  }
  return out;
}

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

}  // namespace

nlohmann::json task_provenance(const std::string& device) {
  std::string commit = kGitCommit;
  const std::string dirty_suffix = "-dirty";
  const bool dirty = commit.size() > dirty_suffix.size() &&
                     commit.compare(commit.size() - dirty_suffix.size(), dirty_suffix.size(), dirty_suffix) == 0;
  if (dirty) commit.resize(commit.size() - dirty_suffix.size());
  nlohmann::json p = {
      {"repro_version", kVersion},
      {"git_commit", commit},
      {"git_dirty", dirty ? "true" : "false"},
      {"compiler", __VERSION__},
      {"libtorch_version", core::libtorch_version()},
      {"cuda",
       core::cuda_available() ? "available (" + std::to_string(core::cuda_device_count()) + " GPUs)" : "not available"},
      {"cpu_model", proc_field("/proc/cpuinfo", "model name")},
      {"host", host_name()},
      {"device", device},
  };
  if (const char* visible = std::getenv("CUDA_VISIBLE_DEVICES")) p["cuda_visible_devices"] = visible;
  if (auto gpus = gpu_models(); !gpus.empty()) p["gpu_models"] = gpus;
  return p;
}

}  // namespace repro::tasks
