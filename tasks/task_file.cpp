#include "tasks/task_file.h"

#include "base/util/errors.h"
#include "base/util/file_io.h"

namespace repro::tasks {

namespace {

using nlohmann::json;

std::string string_member(const json& t, const std::string& path, const char* key) {
  if (!t.contains(key)) throw ConfigError(path, key, "missing");
  if (!t[key].is_string()) throw ConfigError(path, key, std::string("expected a string, got ") + t[key].type_name());
  return t[key].get<std::string>();
}

runner::TaskKind kind_of(const std::string& word, const std::string& path) {
  for (const auto kind : {runner::TaskKind::kTrain, runner::TaskKind::kSample, runner::TaskKind::kEval})
    if (runner::to_string(kind) == word) return kind;
  throw ConfigError(path, "kind", "expected train, sample or eval, got '" + word + "'");
}

}  // namespace

TaskFile read_task_file(const std::string& path) {
  json t;
  try {
    t = json::parse(read_file(path));
  } catch (const json::parse_error& e) {
    throw ConfigError(path, "", std::string("not a task file (JSON): ") + e.what());
  }
  if (!t.is_object() || !t.contains("v") || t["v"] != 1) throw ConfigError(path, "v", "expected a version-1 task file");
  TaskFile f;
  f.path = path;
  f.task_id = string_member(t, path, "task_id");
  f.run_id = string_member(t, path, "run_id");
  const std::string kind = string_member(t, path, "kind");
  f.run_dir = string_member(t, path, "run_dir");
  f.events = string_member(t, path, "events");
  if (!t.contains("spec")) throw ConfigError(path, "spec", "missing");
  f.spec = std::move(t["spec"]);
  if (t.contains("released")) {
    const json& r = t["released"];
    if (!r.is_object()) throw ConfigError(path, "released", std::string("expected an object, got ") + r.type_name());
    f.released_checkpoint = string_member(r, path + " (released)", "checkpoint");
    f.released_config = string_member(r, path + " (released)", "config");
  }
  f.kind = kind_of(kind, path);
  return f;
}

}  // namespace repro::tasks
