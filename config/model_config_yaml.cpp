#include "config/model_config_yaml.h"

#include "base/util/errors.h"

namespace repro::config {

void read_unet_config(StrictMap& m, core::UNetConfig& c) {
  // preset: start from one of the paper's three models; the other keys override it.
  int preset = 0;
  m.get("preset", preset);
  if (m.has("preset")) {
    try {
      c = core::UNetConfig::paper_preset(preset);
    } catch (const ConfigError&) {
      m.fail("preset", "expected 32, 64 or 128 (the paper's three models), got " + std::to_string(preset));
    }
  }
  m.get("image_size", c.image_size);
  m.get("in_channels", c.in_channels);
  m.get("num_channels", c.num_channels);
  m.get("num_res_blocks", c.num_res_blocks);
  m.get("attention_resolutions", c.attention_resolutions);
  m.get("dropout", c.dropout);
  m.get("channel_mult", c.channel_mult);
  m.get("num_heads", c.num_heads);
  m.get("num_head_channels", c.num_head_channels);
  m.get("num_heads_upsample", c.num_heads_upsample);
  m.get("use_scale_shift_norm", c.use_scale_shift_norm);
  m.get("resblock_updown", c.resblock_updown);
  m.get("use_new_attention_order", c.use_new_attention_order);
  m.get("learn_sigma", c.learn_sigma);
  m.get("num_classes", c.num_classes);
  m.get("conv_resample", c.conv_resample);
  m.get("use_fp16", c.use_fp16);
  m.get("precision", c.precision);
}

void read_diffusion_config(StrictMap& m, core::DiffusionConfig& c) {
  m.get("diffusion_steps", c.diffusion_steps);
  m.get("noise_schedule", c.noise_schedule);
  m.get("sigma_small", c.sigma_small);
  m.get("use_kl", c.use_kl);
  m.get("predict_xstart", c.predict_xstart);
  m.get("rescale_timesteps", c.rescale_timesteps);
  m.get("rescale_learned_sigmas", c.rescale_learned_sigmas);
  m.get("timestep_respacing", c.timestep_respacing);
  m.get("model_mean_type", c.model_mean_type);
  m.get("model_var_type", c.model_var_type);
  m.get("loss_type", c.loss_type);
}

ModelSections read_model_sections(StrictMap& top, ModelFile& out) {
  if (!top.has("model")) top.fail("model", "missing: the file needs a 'model:' mapping");
  ModelSections s{top.child("model"), top.child("diffusion")};
  read_unet_config(s.model, out.model);
  s.model.finish();
  read_diffusion_config(s.diffusion, out.diffusion);
  s.diffusion.finish();
  out.diffusion.learn_sigma = out.model.learn_sigma;
  return s;
}

ConfigError located(const ConfigError& e, const StrictMap& section) {
  const std::string& key = e.key_path();
  return ConfigError(section.where(key.substr(key.find('.') + 1)), key, e.detail());
}

ModelFile parse_model_yaml(const YAML::Node& root, const std::string& name) {
  StrictMap top(root, name, "");
  ModelFile f;
  ModelSections sections = read_model_sections(top, f);
  top.finish();
  try {
    f.model.validate();
  } catch (const ConfigError& e) {
    throw located(e, sections.model);
  }
  try {
    f.diffusion.validate();
  } catch (const ConfigError& e) {
    throw located(e, sections.diffusion);
  }
  return f;
}

ModelFile read_model_file(const std::string& path) { return parse_model_yaml(load_yaml_file(path), path); }

}  // namespace repro::config
