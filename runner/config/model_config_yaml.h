#pragma once
// The model config file: the network (`model:`) and the diffusion process (`diffusion:`), keyed
// by the C++ field names, which are the reference's flag names. See docs/model-config.md.
#include <string>

#include "core/diffusion/diffusion_config.h"
#include "core/nn/unet_config.h"
#include "runner/config/strict_yaml.h"

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

}  // namespace repro::config
