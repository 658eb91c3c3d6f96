#pragma once
// Stand-ins for the released checkpoint files that experiment files name (experiments/released*.yaml,
// `checkpoint: {path: ...}`). A checkout has none of them, and a run from a file is named by the
// file's SHA-256, so expanding such a file needs them there. Tests that expand every experiment
// file pass the returned "checkpoints_dir=DIR" as a --set (it wins over the file's
// checkpoints_dir:; expand() reads no environment). Each stand-in holds its own relative path: distinct
// files with fixed digests, so that plans pinned by digest stay put.
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>

#include "tests/support/test_support.h"

namespace repro::test {

// Every relative checkpoint.path under `node` (base, axis values, overrides).
inline void collect_checkpoint_paths(const YAML::Node& node, std::set<std::string>& out) {
  if (node.IsSequence())
    for (const auto& v : node) collect_checkpoint_paths(v, out);
  if (!node.IsMap()) return;
  for (const auto& kv : node) {
    const YAML::Node& v = kv.second;
    if (kv.first.Scalar() == "checkpoint" && v.IsMap() && v["path"] && v["path"].IsScalar()) {
      const std::string p = v["path"].Scalar();
      if (!p.empty() && p[0] != '/') out.insert(p);
    }
    collect_checkpoint_paths(v, out);
  }
}

// Writes under `dir` a stand-in for each relative checkpoint.path of experiments/*.yaml (a file
// already holding the right text is left alone; others are replaced by a rename, so that a
// concurrent test never hashes half a file). Returns "checkpoints_dir=DIR".
inline std::string stand_in_checkpoints(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  std::set<std::string> paths;
  for (const auto& entry : fs::directory_iterator(source_dir() + "/experiments"))
    if (entry.path().extension() == ".yaml") collect_checkpoint_paths(YAML::LoadFile(entry.path().string()), paths);
  for (const auto& p : paths) {
    const fs::path file = dir / p;
    std::ifstream in(file, std::ios::binary);
    if (in && std::string(std::istreambuf_iterator<char>(in), {}) == p) continue;
    fs::create_directories(file.parent_path());
    const fs::path scratch = file.string() + ".tmp" + std::to_string(::getpid());
    std::ofstream(scratch, std::ios::binary) << p;
    fs::rename(scratch, file);
  }
  return "checkpoints_dir=" + dir.string();
}

// stand_in_checkpoints() in a directory of this process, made once.
inline const std::string& stand_in_checkpoints_set() {
  static const TempDir dir;
  static const std::string set = stand_in_checkpoints(dir.path());
  return set;
}

}  // namespace repro::test
