// Truth: the constraints of the reference constructor (heads divide channels, attention only at
// resolutions that occur) and the strict-YAML contract (unknown keys named with file and line).
#include <gtest/gtest.h>

#include <fstream>

#include "base/nn/unet_config.h"
#include "base/util/errors.h"
#include "config/model_config_yaml.h"
#include "tests/support/test_support.h"

using namespace repro;

namespace {
config::ModelFile parse(const std::string& text) {
  return config::parse_model_yaml(config::load_yaml_string(text, "m.yaml"), "m.yaml");
}
std::string error_of(const std::string& text) {
  try {
    parse(text);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(UNetConfig, ChannelMultDefaultsBySize) {
  core::UNetConfig c;
  c.image_size = 32;
  EXPECT_EQ(c.resolved_channel_mult(), (std::vector<double>{1, 2, 2, 2}));
  c.image_size = 64;
  EXPECT_EQ(c.resolved_channel_mult(), (std::vector<double>{1, 2, 3, 4}));
  c.image_size = 128;
  EXPECT_EQ(c.resolved_channel_mult(), (std::vector<double>{1, 1, 2, 3, 4}));
  c.image_size = 256;
  EXPECT_EQ(c.resolved_channel_mult(), (std::vector<double>{1, 1, 2, 2, 4, 4}));
  c.image_size = 48;
  EXPECT_THROW(c.resolved_channel_mult(), ConfigError);
}

TEST(UNetConfig, PaperPresetsValidate) {
  for (int s : {32, 64, 128}) EXPECT_NO_THROW(core::UNetConfig::paper_preset(s).validate()) << s;
  auto c = core::UNetConfig::paper_preset(32);
  EXPECT_EQ(c.attention_ds(), (std::vector<int>{2, 4}));
  EXPECT_EQ(c.out_channels(), 6);
}

TEST(ModelYaml, ReadsEveryKey) {
  auto f = parse(R"(
model:
  image_size: 32
  num_channels: 64
  num_res_blocks: 2
  attention_resolutions: "16, 8"
  channel_mult: [1, 2, 2]
  num_head_channels: 32
  learn_sigma: true
  dropout: 0.1
  use_new_attention_order: true
diffusion:
  noise_schedule: linear
  timestep_respacing: "100"
)");
  EXPECT_EQ(f.model.image_size, 32);
  EXPECT_EQ(f.model.num_channels, 64);
  EXPECT_EQ(f.model.attention_resolutions, (std::vector<int>{16, 8}));
  EXPECT_EQ(f.model.channel_mult, (std::vector<double>{1, 2, 2}));
  EXPECT_TRUE(f.diffusion.learn_sigma);  // follows the model
  EXPECT_EQ(f.diffusion.noise_schedule, "linear");
  EXPECT_EQ(f.diffusion.timestep_respacing, "100");
}

TEST(ModelYaml, PresetThenOverride) {
  auto f = parse("model: {preset: 64, dropout: 0.0}\n");
  EXPECT_EQ(f.model.num_channels, 192);
  EXPECT_EQ(f.model.dropout, 0.0);
}

TEST(ModelYaml, UnknownKeyNamesPathLineAndChoices) {
  auto e = error_of("model:\n  image_size: 32\n  num_chanels: 64\n");
  EXPECT_NE(e.find("m.yaml:3"), std::string::npos) << e;
  EXPECT_NE(e.find("model.num_chanels"), std::string::npos) << e;
  EXPECT_NE(e.find("num_channels"), std::string::npos) << e;  // listed among the valid keys
}

TEST(ModelYaml, AListAsAKeyIsAConfigErrorNotAnInternalOne) {
  auto e = error_of("model:\n  image_size: 32\n  ? [a, b]\n  : 1\n");
  EXPECT_NE(e.find("m.yaml:3: key 'model': expected a scalar key, got a list"), std::string::npos) << e;
}

TEST(ModelYaml, AModelFileWithASelfReferencingAliasIsRefusedAtLoad) {
  test::TempDir dir;
  const std::string path = dir.file("loop.yaml");
  std::ofstream(path) << "model: &m\n  image_size: 32\n  extra: *m\n";
  try {
    config::read_model_file(path);
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              path + ":1: a node contains an alias to itself (an anchor used inside its own value)");
  }
}

TEST(ModelYaml, WrongTypeSaysExpectedAndGot) {
  auto e = error_of("model:\n  image_size: big\n");
  EXPECT_NE(e.find("model.image_size"), std::string::npos) << e;
  EXPECT_NE(e.find("expected an integer"), std::string::npos) << e;
  EXPECT_NE(e.find("'big'"), std::string::npos) << e;
}

TEST(ModelYaml, HeadsThatDoNotDivideChannels) {
  auto e = error_of("model: {image_size: 32, num_channels: 64, attention_resolutions: [16], num_head_channels: 48}\n");
  EXPECT_NE(e.find("model.num_head_channels"), std::string::npos) << e;
  EXPECT_NE(e.find("48"), std::string::npos) << e;
}

TEST(ModelYaml, AttentionAtAResolutionThatNeverOccurs) {
  auto e = error_of("model: {image_size: 32, num_channels: 64, attention_resolutions: [12]}\n");
  EXPECT_NE(e.find("model.attention_resolutions"), std::string::npos) << e;
  EXPECT_NE(e.find("never occurs"), std::string::npos) << e;
}

TEST(ModelYaml, GroupNormNeedsMultiplesOf32) {
  auto e = error_of("model: {image_size: 32, num_channels: 48, attention_resolutions: [16]}\n");
  EXPECT_NE(e.find("model.channel_mult"), std::string::npos) << e;
}

TEST(ModelYaml, BadRespacingIsADiffusionError) {
  auto e = error_of("model: {image_size: 32, num_channels: 64}\ndiffusion: {timestep_respacing: '2000'}\n");
  EXPECT_NE(e.find("diffusion.timestep_respacing"), std::string::npos) << e;
}

TEST(ModelYaml, MissingFileIsAnIoError) { EXPECT_THROW(config::read_model_file("/nonexistent/m.yaml"), IoError); }

TEST(ModelYaml, FileErrorsCarryTheFileName) {
  test::TempDir dir;
  std::ofstream(dir.file("bad.yaml")) << "model:\n  image_size: [\n";
  try {
    config::read_model_file(dir.file("bad.yaml"));
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("bad.yaml"), std::string::npos) << e.what();
  }
}

TEST(ModelYaml, VarianceTypeMustMatchLearnSigma) {
  auto e = error_of("model: {image_size: 32, num_channels: 64}\ndiffusion: {model_var_type: learned}\n");
  EXPECT_NE(e.find("diffusion.model_var_type"), std::string::npos) << e;
  EXPECT_NE(e.find("learn_sigma true"), std::string::npos) << e;
  auto bad = error_of("model: {image_size: 32, num_channels: 64}\ndiffusion: {loss_type: l1}\n");
  EXPECT_NE(bad.find("diffusion.loss_type"), std::string::npos) << bad;
  EXPECT_NE(bad.find("rescaled_kl"), std::string::npos) << bad;  // the choices are listed
  auto f = parse(
      "model: {image_size: 32, num_channels: 64, learn_sigma: true}\n"
      "diffusion: {model_var_type: learned, model_mean_type: previous_x, loss_type: kl}\n");
  EXPECT_EQ(f.diffusion.var_type(), core::ModelVarType::kLearned);
  EXPECT_EQ(f.diffusion.mean_type(), core::ModelMeanType::kPreviousX);
  EXPECT_EQ(f.diffusion.loss(), core::LossType::kKl);
}

TEST(ModelYaml, HeadCountsMustBePositive) {
  auto e = error_of("model: {image_size: 32, num_channels: 64, num_heads_upsample: 0}\n");
  EXPECT_NE(e.find("model.num_heads_upsample"), std::string::npos) << e;
  auto r = error_of("model: {image_size: 32, num_channels: 64}\ndiffusion: {timestep_respacing: '1'}\n");
  EXPECT_NE(r.find("fewer than 2 steps"), std::string::npos) << r;
}
