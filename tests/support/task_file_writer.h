#pragma once
// The task file `repro run` writes (runner/orchestrate task_file_json), for tests that run task
// bodies in-process.
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/support/test_support.h"

namespace repro::test {

// Writes dir/r1/tasks/<task_id>.json for a task of run "r1" (run directory dir/r1); returns its path.
inline std::string write_task_file(const TempDir& dir, const std::string& task_id, const std::string& kind,
                                   const nlohmann::json& spec) {
  const std::string run_dir = dir.file("r1");
  std::filesystem::create_directories(run_dir + "/tasks");
  const nlohmann::json t = {{"v", 1},
                            {"task_id", task_id},
                            {"run_id", "r1"},
                            {"kind", kind},
                            {"run_dir", run_dir},
                            {"depends_on", nlohmann::json::array()},
                            {"events", run_dir + "/tasks/" + task_id + ".events.jsonl"},
                            {"spec", spec}};
  const std::string path = run_dir + "/tasks/" + task_id + ".json";
  std::ofstream(path) << t.dump(2);
  return path;
}

}  // namespace repro::test
