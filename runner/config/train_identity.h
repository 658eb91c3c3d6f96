#pragma once
// What makes two training runs the same run: the resolved model, diffusion, method, optimizer,
// batch, seed, data and process count. Cosmetic fields (log and save intervals) and the length
// of training (iterations: extending a run is the same run) do not count. `repro train` refuses a
// run directory of another identity; the runner names runs by its hash.
#include <nlohmann/json.hpp>

#include <string>

#include "runner/config/train_config_yaml.h"

namespace repro::config {

// Canonical JSON (keys sorted by nlohmann::json), data.path made absolute.
nlohmann::json train_identity(const TrainFile& f, int world_size);

// The first 12 hex digits of the SHA-256 of the identity's compact dump: the run id.
std::string run_id(const nlohmann::json& identity);

}  // namespace repro::config
