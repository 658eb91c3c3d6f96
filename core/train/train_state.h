#pragma once
// A training checkpoint on disk (run_dir/checkpoints/), written so that a crash at any moment
// leaves the previous checkpoint usable:
//   model{K:06d}.pt, ema_{rate}_{K:06d}.pt  reference format (the reference sampler reads them)
//   opt{K:06d}.pt                            LibTorch archive of the optimizer state
//   state{K:06d}.json                        step, sampler, data and RNG states, and the SHA-256 of
//                                            every file above; written last, so it marks the
//                                            checkpoint complete
// Every file is written to a temp name, fsynced and renamed, with "<file>.sha256" beside it.
// K is the number of optimizer steps taken (the reference names a file after K steps "K-1").
#include <torch/torch.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/train/checkpoint_names.h"
#include "base/train/state_file.h"  // TrainState, read_state_file (the rule of a complete checkpoint)

namespace repro::core {

// Raw bytes of a contiguous CPU tensor as lowercase hex, and back (for RNG states in JSON).
std::string tensor_to_hex(const torch::Tensor& t);
torch::Tensor tensor_from_hex(const std::string& hex, torch::ScalarType dtype);

// Writes state{K}.json (atomic) with its .sha256, after the files it lists.
void write_train_state(const std::string& dir, const TrainState& state);
// Writes "<path>.sha256" ("<hex>  <name>\n", sha256sum's format) and returns the hex.
std::string write_sha256_beside(const std::string& path);

// The newest checkpoint in `dir` whose state file read_state_file takes (base/train/state_file.h:
// its members complete, its files all there with the recorded SHA-256). Broken newer ones are
// skipped; each skip is described in `warnings`.
std::optional<TrainState> find_latest_valid_checkpoint(const std::string& dir, std::vector<std::string>* warnings);

// The checkpoint at `step` (validated as above); IoError saying why when it is not usable.
TrainState read_checkpoint_state(const std::string& dir, int64_t step);

// Writes the optimizer's state (LibTorch's archive) to `path` through a temp file, as every
// checkpoint file is written. A failed write (a full disk) is an IoError naming `path`, and leaves
// no temp file behind.
void write_optimizer_state(const torch::optim::Optimizer& optimizer, const std::string& path);

// Removes the temp files ("<file>.tmp-<pid>") that killed processes left in `run_dir` and its
// checkpoints/ (a killed save leaves a 0.7 GB opt*.pt.tmp-PID): those whose pid names no live
// process on this machine. Other files and folders are not touched. Returns the removed paths.
std::vector<std::string> sweep_stale_temp_files(const std::string& run_dir);

}  // namespace repro::core
