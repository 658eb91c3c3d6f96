// eval.precision and eval.to_uint8: strictly read from an experiment's eval: section, and carried
// by the sample task's spec, where they are left out at their defaults (the model's precision,
// truncate) so that the texts of tasks that do not use them stay what they were.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <nlohmann/json.hpp>

#include "base/util/errors.h"
#include "runner/experiment/eval_spec.h"
#include "runner/plan/task_spec.h"
#include "tests/support/test_support.h"

using namespace repro;
using namespace repro::runner;
using nlohmann::json;
using repro::test::config_error;

namespace {

EvalSpec eval_of(const std::string& yaml) { return read_eval_spec(YAML::Load(yaml), "exp.yaml"); }

SampleTaskSpec a_sample() {
  SampleTaskSpec s;
  s.batch_size = 64;
  s.checkpoint_step = 50000;
  s.ema = "0.9999";
  s.num_samples = 50000;
  s.sampler = "ancestral";
  s.seed = 3;
  s.steps = 100;
  return s;
}

const char* const kPlainText =
    R"({"batch_size":64,"checkpoint_step":50000,"clip_denoised":true,"ema":"0.9999","eta":0.0,)"
    R"("num_samples":50000,"sampler":"ancestral","seed":3,"steps":100})";

}  // namespace

TEST(SamplingOptions, EvalSectionReadsBothKeys) {
  const EvalSpec defaults = eval_of("reference: ref.npz");
  EXPECT_EQ(defaults.precision, "auto");
  EXPECT_EQ(defaults.to_uint8, "truncate");
  for (const char* p : {"auto", "fp32", "fp16", "bf16"})
    EXPECT_EQ(eval_of(std::string("{reference: r.npz, precision: ") + p + "}").precision, p);
  EXPECT_EQ(eval_of("{reference: r.npz, to_uint8: round}").to_uint8, "round");
  const json j = to_json(eval_of("{reference: r.npz, precision: fp32, to_uint8: round}"));
  EXPECT_EQ(j.at("precision"), "fp32");
  EXPECT_EQ(j.at("to_uint8"), "round");
}

TEST(SamplingOptions, EvalSectionRejectsUnknownValues) {
  const ConfigError p = config_error([] { eval_of("{reference: r.npz, precision: fp8}"); });
  EXPECT_EQ(p.key_path(), "eval.precision");
  EXPECT_NE(std::string(p.what()).find("expected auto, fp32, fp16 or bf16, got 'fp8'"), std::string::npos) << p.what();
  EXPECT_NE(std::string(p.what()).find("exp.yaml"), std::string::npos) << p.what();
  const ConfigError u = config_error([] { eval_of("{reference: r.npz, to_uint8: nearest}"); });
  EXPECT_EQ(u.key_path(), "eval.to_uint8");
  EXPECT_NE(std::string(u.what()).find("'nearest'"), std::string::npos) << u.what();
}

TEST(SamplingOptions, SpecTextLeavesDefaultsOut) {
  EXPECT_EQ(spec_text(a_sample()), kPlainText);
  EXPECT_EQ(json(a_sample()).dump(), kPlainText);
  SampleTaskSpec s = a_sample();
  s.precision = "fp32";
  s.to_uint8 = "round";
  const std::string text =
      R"({"batch_size":64,"checkpoint_step":50000,"clip_denoised":true,"ema":"0.9999","eta":0.0,)"
      R"("num_samples":50000,"precision":"fp32","sampler":"ancestral","seed":3,"steps":100,"to_uint8":"round"})";
  EXPECT_EQ(spec_text(s), text);
  EXPECT_EQ(json(s).dump(), text);
  for (const char* p : {"", "fp16", "bf16", "a \"quoted\" value"})
    for (const char* u : {"truncate", "round", "x\ny"}) {
      s.precision = p;
      s.to_uint8 = u;
      EXPECT_EQ(spec_text(s), json(s).dump()) << p << " " << u;
    }
}

TEST(SamplingOptions, ParseReadsMissingMembersAsDefaults) {
  const SampleTaskSpec plain = parse_sample_spec(json::parse(kPlainText), "t.json");
  EXPECT_EQ(plain.precision, "");
  EXPECT_EQ(plain.to_uint8, "truncate");
  EXPECT_EQ(json::parse(kPlainText).get<SampleTaskSpec>().to_uint8, "truncate");
  json j = json::parse(kPlainText);
  j["precision"] = "bf16";
  j["to_uint8"] = "round";
  const SampleTaskSpec s = parse_sample_spec(j, "t.json");
  EXPECT_EQ(s.precision, "bf16");
  EXPECT_EQ(s.to_uint8, "round");
  EXPECT_EQ(spec_text(s), j.dump());
  EXPECT_EQ(spec_text(j.get<SampleTaskSpec>()), j.dump());
}

TEST(SamplingOptions, ParseRejectsUnknownValuesNamingTheKey) {
  auto with = [](const char* key, const json& value) {
    json j = json::parse(kPlainText);
    j[key] = value;
    return config_error([&] { parse_sample_spec(j, "runs/r1/tasks/t.json"); });
  };
  for (const json& bad : {json("auto"), json(""), json("fp8"), json(32)}) {
    const ConfigError e = with("precision", bad);
    EXPECT_EQ(e.key_path(), "spec.precision") << bad;
    EXPECT_NE(std::string(e.what()).find("runs/r1/tasks/t.json"), std::string::npos) << e.what();
  }
  EXPECT_NE(std::string(with("precision", "fp8").what()).find("expected fp32, fp16 or bf16"), std::string::npos);
  EXPECT_EQ(with("to_uint8", "nearest").key_path(), "spec.to_uint8");
  EXPECT_EQ(with("to_uint8", true).key_path(), "spec.to_uint8");
}
