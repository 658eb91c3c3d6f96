#include "base/eval/inception_weights_file.h"

#include <cstdlib>
#include <filesystem>

namespace repro::metrics {

namespace fs = std::filesystem;

std::optional<std::string> pinned_inception_sha256(const std::string& path) {
  const std::string name = fs::path(path).filename().string();
  if (name.find(std::string("-") + kPytorchFidSha256Prefix) != std::string::npos) return kPytorchFidSha256;
  if (name == "inception-2015-12-05.pt") return kNvidiaInceptionSha256;
  return std::nullopt;
}

std::string inception_weights_path() {
  if (const char* p = std::getenv("REPRO_INCEPTION_WEIGHTS")) return p;
  const char* cache = std::getenv("XDG_CACHE_HOME");
  const char* home = std::getenv("HOME");
  const fs::path dir = (cache ? fs::path(cache) : fs::path(home ? home : ".") / ".cache") / "repro";
  // NVIDIA's TorchScript first (the primary weights), then pytorch-fid's state dict.
  for (const char* name : {"inception-2015-12-05.pt", "pt_inception-2015-12-05-6726825d.pth"}) {
    if (fs::exists(dir / name)) return (dir / name).string();
  }
  return (dir / "inception-2015-12-05.pt").string();
}

}  // namespace repro::metrics
