#pragma once
// The training config file, the one the runner will use for a single run: model:, diffusion:,
// train:, data: (see docs/train-config.md). `overrides` are "key.path=value" strings (--set).
#include <string>
#include <vector>

#include "core/train/train_config.h"
#include "runner/config/model_config_yaml.h"

namespace repro::config {

struct TrainFile {
  core::UNetConfig model;
  core::DiffusionConfig diffusion;
  core::TrainConfig train;
  core::DataConfig data;
};

// Strictly reads and validates; throws ConfigError naming file, line and key path.
TrainFile read_train_file(const std::string& path, const std::vector<std::string>& overrides = {});
// The same from a YAML tree; `name` names it in errors, a relative data.path is joined to base_dir
// (a directory with its trailing slash, or "").
TrainFile parse_train_yaml(const YAML::Node& root, const std::string& name, const std::string& base_dir);

// Applies one "key.path=value" override (--set) to a YAML tree; the value is parsed as YAML.
// Throws ConfigError for text without '='.
void apply_override(YAML::Node& root, const std::string& text);

// "train.lr" -> {"train", "lr"}: the keys of a dotted key path, as --set and matrix axes name them.
std::vector<std::string> split_key_path(const std::string& path);

}  // namespace repro::config
