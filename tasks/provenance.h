#pragma once
// What a task records about the code and machine it ran with: the `provenance` object of its
// `start` event (docs/events.md), which ingest turns into rows of the store's provenance table
// (docs/database.md) and reports compare across the runs of one table cell.
#include <nlohmann/json.hpp>

#include <string>

namespace repro::tasks {

// Keys (all values strings): repro_version, git_commit, git_dirty ("true"/"false"), compiler,
// libtorch_version, cuda ("available (N GPUs)" or "not available"), cuda_visible_devices (when
// set), gpu_models (from the NVIDIA driver's /proc files, when present), cpu_model, host,
// device (the one in use, as given).
nlohmann::json task_provenance(const std::string& device);

}  // namespace repro::tasks
