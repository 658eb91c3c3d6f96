#include "base/train/state_file.h"

#include <nlohmann/json.hpp>

#include <exception>
#include <filesystem>

#include "base/train/checkpoint_names.h"
#include "base/util/file_io.h"
#include "base/util/sha256.h"

namespace repro::core {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Why a state file does not mark a complete checkpoint (thrown and caught in read_state_file).
struct Incomplete {
  std::string why;
};

// obj[key] as a string; `key_path` names it in the message. Absent: `fallback` when given.
std::string string_member(const json& obj, const char* key, const std::string& key_path, const std::string& name,
                          const std::optional<std::string>& fallback = std::nullopt) {
  const auto it = obj.find(key);
  if (it == obj.end() && fallback) return *fallback;
  if (it == obj.end() || !it->is_string()) throw Incomplete{name + ": " + key_path + " is missing or not a string"};
  return it->get<std::string>();
}

void read_rngs(const json& j, const std::string& name, TrainState& s) {
  const auto rng = j.find("rng");
  if (rng == j.end() || !rng->is_object()) throw Incomplete{name + ": rng is missing or not an object"};
  s.train_rng = string_member(*rng, "train", "rng.train", name);
  s.global_rng = string_member(*rng, "global", "rng.global", name);
  s.cuda_rng = string_member(*rng, "cuda", "rng.cuda", name, "");
  const auto ranks = j.find("rank_rngs");
  if (ranks == j.end()) return;
  if (!ranks->is_array()) throw Incomplete{name + ": rank_rngs is not an array"};
  for (size_t r = 0; r < ranks->size(); ++r) {
    const json& e = (*ranks)[r];
    const std::string at = "rank_rngs[" + std::to_string(r) + "]";
    if (!e.is_object()) throw Incomplete{name + ": " + at + " is not an object"};
    s.rank_rngs.emplace_back(string_member(e, "global", at + ".global", name),
                             string_member(e, "cuda", at + ".cuda", name, ""));
  }
}

// The members of a state file named for `step`; the files it lists are not looked at here.
TrainState parse_state_json(const json& j, int64_t step, const std::string& name) {
  if (!j.is_object() || j.find("format") == j.end() || j["format"] != "repro-train-state" ||
      j.find("version") == j.end() || j["version"] != 1)
    throw Incomplete{name + " is not a version-1 repro training state"};
  const auto k = j.find("step");
  if (k == j.end() || !k->is_number_integer() || *k != step)
    throw Incomplete{name + ": its step is not " + std::to_string(step)};
  TrainState s;
  s.step = step;
  s.sampler_state = string_member(j, "sampler", "sampler", name);
  s.data_state = string_member(j, "data", "data", name);
  read_rngs(j, name, s);
  if (const auto scale = j.find("lg_loss_scale"); scale != j.end()) {
    if (!scale->is_number()) throw Incomplete{name + ": lg_loss_scale is not a number"};
    s.lg_loss_scale = scale->get<double>();
  }
  if (const auto world = j.find("world_size"); world != j.end()) {
    if (!world->is_number_integer() || *world < 1 || *world > 1 << 20)
      throw Incomplete{name + ": world_size is not a process count"};
    s.world_size = world->get<int>();
  }
  const auto files = j.find("files");
  if (files == j.end() || !files->is_object() || files->empty()) throw Incomplete{name + ": no files listed"};
  for (const auto& [file, hex] : files->items()) {
    // A name that leaves the folder is not one the trainer writes.
    if (!hex.is_string() || file.empty() || file == "." || file == ".." || fs::path(file).filename().string() != file)
      throw Incomplete{name + ": bad entry '" + file + "' in files"};
    s.files[file] = hex.get<std::string>();
  }
  return s;
}

// Every file the state lists exists beside it with the recorded SHA-256.
void check_listed_files(const fs::path& dir, const TrainState& s, const std::string& name) {
  for (const auto& [file, hex] : s.files) {
    const fs::path p = dir / file;
    if (!fs::is_regular_file(p)) throw Incomplete{file + " is missing"};
    if (sha256_file_hex(p.string()) != hex)
      throw Incomplete{file + " does not match its SHA-256 (the one recorded in " + name + "): truncated or corrupt"};
  }
}

}  // namespace

std::optional<TrainState> read_state_file(const std::string& path, std::string* why) {
  const fs::path p(path);
  const std::string name = p.filename().string();
  std::string reason;
  try {
    const auto step = checkpoint_step(name, "state", ".json");
    if (!step) throw Incomplete{name + " is not named state<step>.json"};
    const std::string text = read_file(path);
    if (sha256_hex(text) != read_file(path + ".sha256").substr(0, 64))
      throw Incomplete{name + " does not match its SHA-256"};
    TrainState s = parse_state_json(json::parse(text), *step, name);
    check_listed_files(p.parent_path(), s, name);
    return s;
  } catch (const Incomplete& e) {
    reason = e.why;
  } catch (const std::exception& e) {
    reason = name + ": " + e.what();
  }
  if (why) *why = reason;
  return std::nullopt;
}

}  // namespace repro::core
