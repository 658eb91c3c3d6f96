#pragma once
// The file names of a run's checkpoints (docs/checkpoints.md), torch-free: the trainer writes
// them, and the runner knows from them which checkpoint a sample task reads.
#include <cstdint>
#include <string>

namespace repro::core {

std::string checkpoint_name(const std::string& prefix, int64_t step);  // "model000010.pt"
std::string ema_name(double rate, int64_t step);                        // "ema_0.9999_000010.pt"

}  // namespace repro::core
