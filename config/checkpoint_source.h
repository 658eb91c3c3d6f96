#pragma once
// A run that starts from a checkpoint file instead of training (an experiment cell's
// `checkpoint:`; docs/experiments.md, "Released checkpoints"): the authors' released EMA weights,
// or any state dict saved by torch.save. Such a run has sample and eval tasks only; its identity
// is the file's SHA-256 with the model and diffusion, never its path, so that a moved file keeps
// its results and another file is another run.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

#include "config/strict_yaml.h"
#include "config/train_config_yaml.h"

namespace repro::config {

// What every message about a missing checkpoint file says to do about it.
inline constexpr const char* kCheckpointsDirHint =
    "put the file there, or point checkpoints_dir at its folder: --set checkpoints_dir=DIR or "
    "REPRO_CHECKPOINTS_DIR=DIR";

struct CheckpointSource {
  std::string path;            // absolute
  std::string sha256;          // as the experiment pins it (64 lowercase hex digits); "" when not given
  int64_t iteration = 0;       // the training step the weights are from (reports show it), >= 0
  std::string ema = "0.9999";  // the EMA rate the weights are ("model" for raw weights), as written
  // The file's SHA-256 as read when the experiment was expanded; "" when the file is missing.
  std::string actual_sha256;

  // The digest that names the run: the pinned one, else the file's.
  const std::string& identity_sha256() const { return sha256.empty() ? actual_sha256 : sha256; }
};

// Reads {path, sha256, iteration, ema} strictly (path required; sha256 64 hex digits, stored in
// lowercase; iteration >= 0; ema "model" or a number in [0, 1)). A relative path is joined to
// `dir` (the checkpoints folder: docs/experiments.md). Does not look at the file.
CheckpointSource read_checkpoint_source(StrictMap& m, const std::string& dir);

// The identity of a run from a checkpoint: {"checkpoint": {"sha256": identity_sha256()},
// "diffusion": diffusion_identity, "model": model_identity, "train": {"seed": train.seed}}
// (train_identity.h's members). Of training only the seed, which seeds the sampler (one run per
// seed, as for trained runs): how the file was trained is in the file.
nlohmann::json released_identity(const TrainFile& f, const CheckpointSource& c);

}  // namespace repro::config
