#pragma once
// The training loop of guided-diffusion's train_util.TrainLoop with DDPM-IP's methods: schedule
// sampling with importance weights, microbatching, AdamW/Adam, optional lr annealing and gradient
// clipping, EMA on taken steps, events.jsonl, atomic checkpoints, exact resume, and a clean stop on
// NaN or on request (SIGTERM/SIGINT in the CLI). Data parallel over a Communicator: every rank
// draws the global batch's randomness from the same seed and trains on its slice, gradients are
// averaged, per-sample losses gathered for the resampler and the logs; rank 0 alone writes.
#include <torch/torch.h>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/diffusion/diffusion_config.h"
#include "base/nn/unet_config.h"
#include "base/train/train_config.h"
#include "core/nn/unet.h"
#include "core/train/communicator.h"
#include "core/train/data_source.h"
#include "core/train/ema.h"

namespace repro::core {

struct TrainerOptions {
  std::string run_dir;  // events.jsonl and checkpoints/ go here
  torch::Device device = torch::kCPU;
  const std::atomic<int>* stop = nullptr;       // above 0 (set asynchronously): stop after the current step
  std::function<void(const std::string&)> log;  // human-readable progress (may be empty)
  // Torso precision: "auto" (half on CUDA when model.use_fp16, as model.precision says; float32
  // on the CPU), "fp32", "fp16" (CUDA only; dynamic loss scaling) or "bf16" (no loss scaling).
  std::string precision = "auto";
  // The process group of a data-parallel run (not owned); nullptr = a single process.
  // batch_size is per process: the global batch is batch_size x world size, as the reference.
  Communicator* comm = nullptr;
  std::string events_path;  // "" = run_dir/events.jsonl
  // Where and with what code this runs (git commit, versions, host, ...): written into the start
  // event's `provenance` object together with the seed and the data fingerprint.
  std::map<std::string, std::string> provenance;
  // The steps whose checkpoints the experiment samples (sorted): with train.keep "evaluated", each
  // save then deletes the files base/train/keep_policy.h does not keep. Empty optional: not known
  // (a standalone `repro train`), nothing is deleted.
  std::optional<std::vector<int64_t>> keep_steps;
};

enum class TrainStatus { kCompleted, kInterrupted, kDiverged };
const char* to_string(TrainStatus s);

struct TrainResult {
  TrainStatus status = TrainStatus::kCompleted;
  int64_t step = 0;           // optimizer steps taken in total
  int64_t resumed_from = -1;  // the checkpoint step resumed from, -1 if started fresh
  std::string message;
};

class Trainer {
 public:
  // Builds the model (seeded by config.seed), optimizer, EMAs and schedule sampler.
  Trainer(const UNetConfig& model, const DiffusionConfig& diffusion, const TrainConfig& config, DataSource& data,
          TrainerOptions options);
  ~Trainer();

  // Resumes from the newest valid checkpoint of run_dir when `resume` (skipping corrupt ones
  // with a warning), then trains until config.iterations steps in total.
  TrainResult run(bool resume);

  UNetModel model() const;
  const std::vector<Ema>& emas() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace repro::core
