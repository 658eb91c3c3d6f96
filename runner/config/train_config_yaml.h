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

}  // namespace repro::config
