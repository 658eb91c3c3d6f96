#pragma once
// The file names of a run's checkpoints (docs/checkpoints.md), torch-free: the trainer writes
// them, and the runner knows from them which checkpoint a sample task reads.
#include <cstdint>
#include <optional>
#include <string>

namespace repro::core {

std::string checkpoint_name(const std::string& prefix, int64_t step);  // "model000010.pt"
std::string ema_name(double rate, int64_t step);                       // "ema_0.9999_000010.pt"

// The step K of a file named prefix + K + suffix ("state000010.json" -> 10), or nothing when the
// name is not one: K is decimal digits only and fits int64 (a stray state<20 digits>.json is not a
// checkpoint, and must not stop a resume).
std::optional<int64_t> checkpoint_step(const std::string& name, const std::string& prefix, const std::string& suffix);

// The process id in a temp file name "<file>.tmp-<pid>" (repro::atomic_temp_path; torch::save of
// the optimizer writes one too), or nothing when the name is not one.
std::optional<int> temp_file_pid(const std::string& name);

}  // namespace repro::core
