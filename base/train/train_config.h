#pragma once
// TrainConfig: how one training run trains (guided-diffusion's train_util + image_train flags,
// DDPM-IP's input perturbation, and the paper's comparison methods). Plain and torch-free; the
// defaults are the paper's (paper-spec Table 9), except where a comment says "ours".
#include <cstdint>
#include <string>
#include <vector>

namespace repro::core {

struct TrainConfig {
  // adm | adm-ip | ddpm-y | adm-gp | adm-wd (paper-spec §2). DDIM-IP is adm-ip with the DDIM
  // model/diffusion/optimizer settings (see docs/train-config.md), not a method of its own.
  std::string method = "adm";
  double gamma = 0.1;          // input perturbation strength for adm-ip and ddpm-y (paper: 0.1)
  double lambda_gp = 1e-4;     // adm-gp penalty weight; the paper does not publish it (ours)
  double lambda_wd = 1e-4;     // adm-wd weight; not published (ours)
  std::string wd_mode = "l2";  // adm-wd: "l2" = lambda_wd * ||theta||^2 in the loss, "decoupled" = AdamW decay
  std::string schedule_sampler = "loss-second-moment";  // or "uniform"
  std::string optimizer = "adamw";                      // adamw (reference) | adam (the DDIM setup)
  double lr = 1e-4;
  double weight_decay = 0.0;  // AdamW decoupled decay (reference default 0)
  double adam_beta1 = 0.9;
  double adam_beta2 = 0.999;
  double adam_eps = 1e-8;
  int64_t lr_anneal_steps = 0;  // > 0: lr decays linearly to 0 over this many steps; 0 = constant
  double grad_clip = 0.0;       // max global gradient norm; 0 = off (the reference does not clip)
  // How the per-image loss reduces over C x H x W: "mean" (ADM's mean_flat) or "sum" (ermongroup/ddim's
  // noise_estimation_loss, which the paper's Table 5 used). In the run's identity only when "sum".
  std::string loss_reduction = "mean";
  int batch_size = 128;                     // images per optimizer step (per process)
  int microbatch = -1;                      // images per forward/backward; -1 = batch_size (no accumulation)
  std::vector<double> ema_rate = {0.9999};  // one EMA per rate, updated on taken steps only
  int64_t iterations = 500000;              // optimizer steps to run in total
  int log_interval = 100;                   // steps between events.jsonl log records
  int save_interval = 10000;                // steps between checkpoints (and one at the end)
  // Which checkpoints stay on disk (base/train/keep_policy.h): "evaluated" keeps model+EMA of the
  // steps the experiment evaluates plus the latest, and the optimizer of the latest only; "all"
  // keeps every checkpoint. Not part of the run's identity: it changes no result.
  std::string keep = "evaluated";
  uint64_t seed = 0;  // every RNG of the run derives from it (the reference seeds none)
  // Data-parallel processes the run trains with (the paper's GPU count; global batch = batch_size
  // x world_size). 0: as launched (--nproc, torchrun, srun); the run's identity counts 1 then.
  int world_size = 0;

  int effective_microbatch() const { return microbatch > 0 ? microbatch : batch_size; }
  // The processes a planner launches the run with: world_size, or 1 when it is left to the launch.
  int planned_world_size() const { return world_size > 0 ? world_size : 1; }
  // Throws ConfigError naming the key ("train.<key>") for any impossible value.
  void validate(const std::string& where = "") const;
};

// Independent generator streams derived from one user seed (splitmix64 of seed and stream), so
// the noise, the timesteps, dropout and the data order are not one generator at different offsets.
enum SeedStream : uint64_t { kStreamTrain = 1, kStreamGlobal = 2, kStreamData = 3 };
inline uint64_t derive_seed(uint64_t seed, uint64_t stream) {
  uint64_t z = seed + 0x9E3779B97F4A7C15ull * (stream + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Where the training images come from.
struct DataConfig {
  // An .npz file with arr_0 [N, H, W, C] uint8, a prepared dataset (a directory holding
  // manifest.json, `repro data prepare`), or a folder of jpg/jpeg/png/gif/webp images read as the
  // reference's image_datasets.py (recursive, RGB, center_crop_arr to model.image_size).
  std::string path;
  bool random_flip = true;  // horizontal flip with p = 0.5, on as in the reference
  void validate(const std::string& where = "") const;
};

}  // namespace repro::core
