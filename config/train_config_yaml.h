#pragma once
// The training config file, the one the runner will use for a single run: model:, diffusion:,
// train:, data: (see docs/train-config.md). `overrides` are "key.path=value" strings (--set).
#include <string>
#include <vector>

#include "base/train/train_config.h"
#include "config/model_config_yaml.h"

namespace repro::config {

struct TrainFile {
  core::UNetConfig model;
  core::DiffusionConfig diffusion;
  core::TrainConfig train;
  core::DataConfig data;
};

// Strictly reads and validates; throws ConfigError naming file, line and key path. data.path may
// be empty here (a run from a released checkpoint has no training data): whatever trains calls
// data.validate() itself.
TrainFile read_train_file(const std::string& path, const std::vector<std::string>& overrides = {});
// The same from a YAML tree; `name` names it in errors, a relative data.path is joined to base_dir
// (a directory with its trailing slash, or "").
TrainFile parse_train_yaml(const YAML::Node& root, const std::string& name, const std::string& base_dir);

// parse_train_yaml by parts, for a reader of many trees that share sections (the runs of an
// experiment matrix: runner/experiment/expand.cpp reads each distinct section once). The train:
// and data: readers (model: and diffusion: are read_unet_config and read_diffusion_config; each
// reads its section strictly, without validating), and what parse_train_yaml does once every
// section is read: diffusion.learn_sigma linked to model.learn_sigma, the sections model, diffusion
// and train validated in that order, and the train/diffusion pairing (an error located in `at`'s section when given,
// else as the validator threw it), a relative data.path joined to base_dir.
void read_train_config(StrictMap& m, core::TrainConfig& c);
void read_data_config(StrictMap& m, core::DataConfig& c);
struct TrainSectionMaps {
  const StrictMap& model;
  const StrictMap& diffusion;
  const StrictMap& train;
  const StrictMap& data;
};
void finish_train_file(TrainFile& f, const std::string& base_dir, const TrainSectionMaps* at = nullptr);

// Applies one "key.path=value" override (--set) to a YAML tree; the value is parsed as YAML.
// Throws ConfigError for text without '='.
void apply_override(YAML::Node& root, const std::string& text);

// "train.lr" -> {"train", "lr"}: the keys of a dotted key path, as --set and matrix axes name them.
std::vector<std::string> split_key_path(const std::string& path);

}  // namespace repro::config
