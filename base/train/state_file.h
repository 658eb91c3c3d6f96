#pragma once
// A checkpoint's state file, state{K:06d}.json (core/train/train_state.h writes it; docs/checkpoints.md),
// read and judged without LibTorch: the one rule of what makes a checkpoint complete, which a
// resume (core::find_latest_valid_checkpoint) and `repro gc` (runner/gc/latest_checkpoint.h) both
// apply, so that gc never keeps a checkpoint a resume would reject in place of one it would read.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace repro::core {

struct TrainState {
  int64_t step = 0;
  std::string sampler_state;
  std::string data_state;
  std::string train_rng;        // hex of the trainer's generator state
  std::string global_rng;       // hex of LibTorch's default CPU generator (dropout)
  double lg_loss_scale = 20.0;  // fp16 dynamic loss scale (log2)
  std::string cuda_rng;         // hex of the CUDA default generator (dropout on the GPU); empty on CPU
  // Data parallel: the process count, and every rank's own generators (dropout differs by rank;
  // everything else above is the same on every rank). rank_rngs[r] = {global, cuda}.
  int world_size = 1;
  std::vector<std::pair<std::string, std::string>> rank_rngs;
  std::map<std::string, std::string> files;  // file name -> SHA-256
};

// The state file at `path` when it marks a complete checkpoint, else nothing with `why` (when
// given) saying what is wrong. Complete: the file is named state<K>.json and its bytes match the
// digest in "<path>.sha256"; it is a JSON object with format "repro-train-state", version 1, step
// K; strings sampler, data, rng.train and rng.global (rng.cuda a string when present); a number
// lg_loss_scale and an integer world_size >= 1 when present; rank_rngs, when present, an array of
// objects each with a string global (and cuda a string when present); files a non-empty object of
// plain names (no folder) to hex digests, each a regular file beside the state file whose SHA-256
// is the one listed. Never throws for what is on disk.
std::optional<TrainState> read_state_file(const std::string& path, std::string* why);

}  // namespace repro::core
