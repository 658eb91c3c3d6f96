#pragma once
// What makes two training runs the same run: the resolved model, diffusion, method, optimizer,
// batch, seed, data and process count. Cosmetic fields (log and save intervals) and the length
// of training (iterations: extending a run is the same run) do not count. `repro train` refuses a
// run directory of another identity; the runner names runs by its hash.
#include <nlohmann/json.hpp>

#include <string>

#include "config/train_config_yaml.h"

namespace repro::config {

// Canonical JSON (keys sorted by nlohmann::json), data.path made absolute.
nlohmann::json train_identity(const TrainFile& f, int world_size);

// The first 12 hex digits of the SHA-256 of the identity's compact dump: the run id.
std::string run_id(const nlohmann::json& identity);
std::string run_id_of_dump(const std::string& compact_dump);

// train_identity's members, for a caller that names many runs sharing most of them (the runs of
// an experiment matrix): train_identity(f, w) is {"data": data_identity(f.data), "diffusion":
// diffusion_identity(f.diffusion), "model": model_identity(f.model), "train":
// train_section_identity(f.train, w)}, and identity_dump(their compact dumps) is its compact dump.
nlohmann::json model_identity(const core::UNetConfig& m);
nlohmann::json diffusion_identity(const core::DiffusionConfig& d);
nlohmann::json train_section_identity(const core::TrainConfig& t, int world_size);
nlohmann::json data_identity(const core::DataConfig& d);
std::string identity_dump(const std::string& data, const std::string& diffusion, const std::string& model,
                          const std::string& train);

}  // namespace repro::config
