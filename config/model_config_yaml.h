#pragma once
// The model config file: the network (`model:`) and the diffusion process (`diffusion:`), keyed
// by the C++ field names, which are the reference's flag names. See docs/model-config.md.
#include <string>

#include "base/diffusion/diffusion_config.h"
#include "base/nn/unet_config.h"
#include "base/util/errors.h"
#include "config/strict_yaml.h"

namespace repro::config {

struct ModelFile {
  core::UNetConfig model;
  core::DiffusionConfig diffusion;  // diffusion.learn_sigma follows model.learn_sigma
};

// Strictly reads and validates; throws ConfigError naming file, line and key path.
ModelFile read_model_file(const std::string& path);
ModelFile parse_model_yaml(const YAML::Node& root, const std::string& name);

void read_unet_config(StrictMap& m, core::UNetConfig& c);
void read_diffusion_config(StrictMap& m, core::DiffusionConfig& c);

// The model: and diffusion: sections of any file that has them (model and training files):
// strict reading, then diffusion.learn_sigma linked to model.learn_sigma. Not yet validated.
struct ModelSections {
  StrictMap model, diffusion;
};
ModelSections read_model_sections(StrictMap& top, ModelFile& out);

// A validator's ConfigError ("section.key") again, with the file:line of that key in `section`.
ConfigError located(const ConfigError& e, const StrictMap& section);

}  // namespace repro::config
