// The typed task contract: spec_text is nlohmann's dump for every value, the JSON round trip
// holds, and parse_*_spec names the key of a missing or mistyped member.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <limits>

#include "base/util/errors.h"
#include "runner/plan/task_graph.h"
#include "runner/plan/task_spec.h"
#include "tests/support/test_support.h"

using namespace repro;
using namespace repro::runner;
using nlohmann::json;
using repro::test::config_error;

namespace {

// Strings that take each of nlohmann's paths: plain, escaped, control characters, UTF-8, DEL.
const std::vector<std::string> kStrings = {
    "",        "ancestral",   "a \"quoted\" \\ path", "line\nbreak\ttab\x01", "caf\xc3\xa9 \xe2\x9c\x93",
    "del\x7f", "/abs/ref.npz"};

SampleTaskSpec a_sample() {
  SampleTaskSpec s;
  s.batch_size = 64;
  s.checkpoint_step = 50000;
  s.clip_denoised = true;
  s.ema = "0.9999";
  s.eta = 0.5;
  s.num_samples = 50000;
  s.sampler = "ddim";
  s.seed = 3;
  s.steps = 100;
  return s;
}

EvalTaskSpec an_eval() {
  EvalTaskSpec s;
  s.batch_size = 32;
  s.features = "inception";
  s.metrics = {"fid", "sfid"};
  s.reference = "/data/ref.npz";
  s.samples_of = "r1-sample-0123456789ab";
  return s;
}

TrainTaskSpec a_train() {
  return {"model:\n  image_size: 32\n", R"({"diffusion":{"steps":1000},"train":{"lr":0.0001}})", 800000};
}

}  // namespace

TEST(TaskSpec, SampleTextIsTheDumpForEveryValue) {
  const std::vector<double> etas = {0.0, -0.0, 0.5, 1.0, 1e-7, 0.1 + 0.2, 1e300, 123456789.0};
  for (double eta : etas)
    for (const auto& text : kStrings) {
      SampleTaskSpec s = a_sample();
      s.eta = eta;
      s.ema = text;
      s.sampler = text;
      s.clip_denoised = text.empty();
      s.seed = std::numeric_limits<uint64_t>::max();
      s.num_samples = std::numeric_limits<int64_t>::min();
      s.checkpoint_step = -1;
      EXPECT_EQ(spec_text(s), json(s).dump()) << eta << " " << text;
    }
}

TEST(TaskSpec, EvalTextIsTheDumpForEveryValue) {
  for (const auto& text : kStrings) {
    EvalTaskSpec s = an_eval();
    s.features = text;
    s.reference = text;
    s.samples_of = text;
    s.metrics = {text, "is"};
    EXPECT_EQ(spec_text(s), json(s).dump()) << text;
  }
  EvalTaskSpec none = an_eval();
  none.metrics.clear();
  EXPECT_EQ(spec_text(none), json(none).dump());
}

TEST(TaskSpec, TrainTextEmbedsTheIdentityAsAnObject) {
  for (const auto& text : kStrings) {
    TrainTaskSpec s = a_train();
    s.config = text;
    EXPECT_EQ(spec_text(s), json(s).dump()) << text;
  }
  const json j = json::parse(spec_text(a_train()));
  EXPECT_TRUE(j["identity"].is_object());
  EXPECT_EQ(j["identity"]["diffusion"]["steps"], 1000);
}

TEST(TaskSpec, JsonRoundTrip) {
  const SampleTaskSpec s = a_sample();
  const auto s2 = json::parse(spec_text(s)).get<SampleTaskSpec>();
  EXPECT_EQ(spec_text(s2), spec_text(s));
  const EvalTaskSpec e = an_eval();
  EXPECT_EQ(spec_text(json::parse(spec_text(e)).get<EvalTaskSpec>()), spec_text(e));
  const TrainTaskSpec t = a_train();
  const auto t2 = json::parse(spec_text(t)).get<TrainTaskSpec>();
  EXPECT_EQ(t2.identity, t.identity);
  EXPECT_EQ(spec_text(t2), spec_text(t));
}

TEST(TaskSpec, ParseReadsWhatSpecTextWrote) {
  const SampleTaskSpec s = parse_sample_spec(json::parse(spec_text(a_sample())), "f.json");
  EXPECT_EQ(spec_text(s), spec_text(a_sample()));
  EXPECT_EQ(parse_eval_spec(json::parse(spec_text(an_eval())), "f.json").metrics, an_eval().metrics);
  const TrainTaskSpec t = parse_train_spec(json::parse(spec_text(a_train())), "f.json");
  EXPECT_EQ(t.identity, a_train().identity);
  EXPECT_EQ(t.iterations, 800000);
  // A seed beyond int64 keeps its value.
  SampleTaskSpec big = a_sample();
  big.seed = std::numeric_limits<uint64_t>::max();
  EXPECT_EQ(parse_sample_spec(json::parse(spec_text(big)), "f.json").seed, big.seed);
}

TEST(TaskSpec, ParseNamesTheMissingKey) {
  json j = json(a_sample());
  j.erase("seed");
  const ConfigError e = config_error([&] { parse_sample_spec(j, "runs/r1/tasks/t.json"); });
  EXPECT_EQ(e.key_path(), "spec.seed");
  EXPECT_NE(std::string(e.what()).find("runs/r1/tasks/t.json"), std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find("missing"), std::string::npos) << e.what();

  json t = json(a_train());
  t.erase("identity");
  EXPECT_EQ(config_error([&] { parse_train_spec(t, "task x"); }).key_path(), "spec.identity");
  json v = json(an_eval());
  v.erase("samples_of");
  EXPECT_EQ(config_error([&] { parse_eval_spec(v, "task x"); }).key_path(), "spec.samples_of");
}

TEST(TaskSpec, ParseNamesTheMistypedKey) {
  auto sample_with = [](const char* key, const json& value) {
    json j = json(a_sample());
    j[key] = value;
    return config_error([&] { parse_sample_spec(j, "t.json"); });
  };
  EXPECT_EQ(sample_with("steps", "100").key_path(), "spec.steps");
  EXPECT_EQ(sample_with("steps", 1.5).key_path(), "spec.steps");
  EXPECT_EQ(sample_with("batch_size", int64_t{1} << 40).key_path(), "spec.batch_size");
  EXPECT_EQ(sample_with("seed", -1).key_path(), "spec.seed");
  EXPECT_EQ(sample_with("clip_denoised", 1).key_path(), "spec.clip_denoised");
  EXPECT_EQ(sample_with("eta", "0").key_path(), "spec.eta");
  EXPECT_EQ(sample_with("ema", "fast").key_path(), "spec.ema");
  EXPECT_NE(std::string(sample_with("steps", "100").what()).find("expected an integer"), std::string::npos);

  json e = json(an_eval());
  e["metrics"] = json::array({"fid", 3});
  EXPECT_EQ(config_error([&] { parse_eval_spec(e, "t.json"); }).key_path(), "spec.metrics");
  json t = json(a_train());
  t["identity"] = "{}";
  EXPECT_EQ(config_error([&] { parse_train_spec(t, "t.json"); }).key_path(), "spec.identity");
  EXPECT_EQ(config_error([&] { parse_eval_spec(json::array(), "t.json"); }).key_path(), "spec");
  // An integer where a number is expected is a number.
  json whole_eta = json(a_sample());
  whole_eta["eta"] = 1;
  EXPECT_EQ(parse_sample_spec(whole_eta, "t.json").eta, 1.0);
}

TEST(TaskSpec, CheckpointFile) {
  SampleTaskSpec s = a_sample();
  EXPECT_EQ(checkpoint_file(s), "checkpoints/ema_0.9999_050000.pt");
  s.ema = "model";
  s.checkpoint_step = 10;
  EXPECT_EQ(checkpoint_file(s), "checkpoints/model000010.pt");
}

TEST(TaskSpec, PlannedTaskTypedAccessors) {
  TaskSpec t;
  t.task_id = "r1-sample-0123456789ab";
  t.kind = "sample";
  t.spec = spec_text(a_sample());
  EXPECT_EQ(t.task_kind(), TaskKind::kSample);
  EXPECT_EQ(spec_text(t.sample_spec()), t.spec);
  const ConfigError e = config_error([&] { t.train_spec(); });
  EXPECT_EQ(e.key_path(), "spec.config");
  EXPECT_NE(std::string(e.what()).find("task r1-sample-0123456789ab"), std::string::npos) << e.what();
}
