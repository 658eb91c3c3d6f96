// The one rule of a complete checkpoint (base/train/state_file.h), which a resume and `repro gc`
// both apply: a state file written here member by member, then broken one way at a time; each
// break is refused with a reason naming what is wrong, and the whole one is read back exactly.
#include "base/train/state_file.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "base/util/sha256.h"
#include "tests/support/test_support.h"

namespace repro::core {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// checkpoints/ with model000020.pt and opt000020.pt, and a state file for them.
struct Checkpoint {
  Checkpoint() {
    dir.write("model000020.pt", "model bytes");
    dir.write("opt000020.pt", "optimizer bytes");
    state = {
        {"format", "repro-train-state"},
        {"version", 1},
        {"step", 20},
        {"sampler", "uniform"},
        {"data", "{\"epoch\":1}"},
        {"rng", {{"train", "0a"}, {"global", "0b"}, {"cuda", ""}}},
        {"lg_loss_scale", 18.5},
        {"world_size", 2},
        {"rank_rngs", {{{"global", "0b"}, {"cuda", ""}}, {{"global", "0c"}}}},
        {"files", {{"model000020.pt", sha256_hex("model bytes")}, {"opt000020.pt", sha256_hex("optimizer bytes")}}}};
  }
  // Writes `state` as `name` with its .sha256 and reads it back; `why` gets the reason.
  std::optional<TrainState> read(std::string* why, const std::string& name = "state000020.json") {
    const std::string text = state.dump(1) + "\n";
    const std::string path = dir.write(name, text);
    dir.write(name + ".sha256", sha256_hex(text) + "  " + name + "\n");
    return read_state_file(path, why);
  }

  test::TempDir dir;
  json state;
};

TEST(StateFile, ACompleteStateIsReadWithEveryMember) {
  Checkpoint c;
  std::string why = "untouched";
  const auto s = c.read(&why);
  ASSERT_TRUE(s) << why;
  EXPECT_EQ(why, "untouched");
  EXPECT_EQ(s->step, 20);
  EXPECT_EQ(s->sampler_state, "uniform");
  EXPECT_EQ(s->data_state, "{\"epoch\":1}");
  EXPECT_EQ(s->train_rng, "0a");
  EXPECT_EQ(s->global_rng, "0b");
  EXPECT_EQ(s->cuda_rng, "");
  EXPECT_EQ(s->lg_loss_scale, 18.5);
  EXPECT_EQ(s->world_size, 2);
  EXPECT_EQ(s->rank_rngs, (std::vector<std::pair<std::string, std::string>>{{"0b", ""}, {"0c", ""}}));
  EXPECT_EQ(s->files.size(), 2u);
  EXPECT_EQ(s->files.at("opt000020.pt"), sha256_hex("optimizer bytes"));
  // Optional members absent: their defaults.
  for (const char* key : {"lg_loss_scale", "world_size", "rank_rngs"}) c.state.erase(key);
  c.state["rng"].erase("cuda");
  const auto plain = c.read(&why);
  ASSERT_TRUE(plain) << why;
  EXPECT_EQ(plain->lg_loss_scale, 20.0);
  EXPECT_EQ(plain->world_size, 1);
  EXPECT_TRUE(plain->rank_rngs.empty());
}

TEST(StateFile, EachMemberAResumeNeedsIsRequired) {
  // (what is done to the state, a part of the reason)
  const std::vector<std::pair<std::function<void(json&)>, std::string>> breaks = {
      {[](json& j) { j.erase("sampler"); }, "sampler is missing"},
      {[](json& j) { j["data"] = 3; }, "data is missing or not a string"},
      {[](json& j) { j["rng"].erase("train"); }, "rng.train is missing"},
      {[](json& j) { j["rng"].erase("global"); }, "rng.global is missing"},
      {[](json& j) { j["rng"]["cuda"] = nullptr; }, "rng.cuda is missing or not a string"},
      {[](json& j) { j["rng"] = "0a"; }, "rng is missing or not an object"},
      {[](json& j) { j["rank_rngs"][1].erase("global"); }, "rank_rngs[1].global is missing"},
      {[](json& j) { j["rank_rngs"] = json::object(); }, "rank_rngs is not an array"},
      {[](json& j) { j["lg_loss_scale"] = "18"; }, "lg_loss_scale is not a number"},
      {[](json& j) { j["world_size"] = 0; }, "world_size is not a process count"},
      {[](json& j) { j["step"] = 40; }, "its step is not 20"},
      {[](json& j) { j["step"] = "20"; }, "its step is not 20"},
      {[](json& j) { j["version"] = 2; }, "is not a version-1 repro training state"},
      {[](json& j) { j.erase("format"); }, "is not a version-1 repro training state"},
      {[](json& j) { j["files"] = json::object(); }, "no files listed"},
      {[](json& j) { j["files"]["../x.pt"] = "00"; }, "bad entry '../x.pt'"},
      {[](json& j) { j["files"]["model000020.pt"] = 7; }, "bad entry 'model000020.pt'"},
      {[](json& j) { j["files"]["ema_0.9999_000020.pt"] = "00"; }, "ema_0.9999_000020.pt is missing"},
      {[](json& j) { j["files"]["opt000020.pt"] = sha256_hex("other"); }, "opt000020.pt does not match its SHA-256"},
  };
  for (const auto& [edit, want] : breaks) {
    Checkpoint c;
    edit(c.state);
    std::string why;
    EXPECT_FALSE(c.read(&why)) << want;
    EXPECT_NE(why.find(want), std::string::npos) << "want '" << want << "', got: " << why;
  }
}

TEST(StateFile, TheFileMustMatchItsChecksumAndBeNamedForItsStep) {
  Checkpoint c;
  std::string why;
  ASSERT_TRUE(c.read(&why)) << why;
  std::ofstream(c.dir.file("state000020.json"), std::ios::app) << " ";
  EXPECT_FALSE(read_state_file(c.dir.file("state000020.json"), &why));
  EXPECT_EQ(why, "state000020.json does not match its SHA-256");
  fs::remove(c.dir.file("state000020.json.sha256"));
  EXPECT_FALSE(read_state_file(c.dir.file("state000020.json"), &why));
  EXPECT_NE(why.find("state000020.json: "), std::string::npos) << why;
  EXPECT_FALSE(c.read(&why, "state.json"));
  EXPECT_EQ(why, "state.json is not named state<step>.json");
  EXPECT_FALSE(read_state_file(c.dir.file("state000099.json"), nullptr));  // no file, no reason asked
  c.dir.write("model000020.pt", "model bytes, cut");
  EXPECT_FALSE(c.read(&why));
  EXPECT_NE(why.find("model000020.pt does not match its SHA-256"), std::string::npos) << why;
}

}  // namespace
}  // namespace repro::core
