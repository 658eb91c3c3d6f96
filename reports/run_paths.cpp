#include "reports/run_paths.h"

#include <filesystem>

namespace repro::reports {

std::string path_inside_run(const std::string& path) {
  const std::filesystem::path p = std::filesystem::path(path).lexically_normal();
  if (path.empty() || p.is_absolute() || p.empty() || *p.begin() == "..") return "";
  return p.generic_string();
}

}  // namespace repro::reports
