#pragma once
// Trainer::Impl, private to the trainer's files: the state of one run and its phases, named as
// guided-diffusion's train_util.TrainLoop names them.
//   trainer.cpp             construction and run_loop (stop, divergence, log records, saves)
//   train_step.cpp          run_step: forward_backward, optimize, _update_ema, _anneal_lr, log_step
//   trainer_checkpoint.cpp  save, restore and the choice of the checkpoint to resume from
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/util/event_log.h"
#include "core/diffusion/gaussian_diffusion.h"
#include "core/train/methods.h"
#include "core/train/mixed_precision.h"
#include "core/train/resample.h"
#include "core/train/train_log.h"
#include "core/train/train_state.h"
#include "core/train/trainer.h"
#include "core/util/checkpoint.h"

namespace repro::core {

enum class StepOutcome {
  kTaken,     // the optimizer and the EMAs were updated
  kSkipped,   // an fp16 overflow: no update and a lower loss scale; the step still counts
  kDiverged,  // a non-finite loss or gradient without loss scaling: the run stops, the step uncounted
};

// What one step did; loss and grad_norm stay NaN where the step did not get that far.
struct StepResult {
  StepOutcome outcome = StepOutcome::kTaken;
  double loss = std::nan("");       // importance-weighted mean over the global batch
  double grad_norm = std::nan("");  // L2 norm of the unscaled, rank-averaged gradient
  double lr = 0;                    // the learning rate of a taken step
};

// One microbatch's random inputs (this rank's slice) and their importance weights [micro].
struct MicroInputs {
  MethodInputs in;
  torch::Tensor weights;
};

// Since the last log record: its time and images (throughput), and the lr of the last taken step.
struct LogWindow {
  std::chrono::steady_clock::time_point run_start, start;
  int64_t images = 0;
  double lr = 0;
};

struct Trainer::Impl {
  Impl(const UNetConfig& model, const DiffusionConfig& diffusion, const TrainConfig& config, DataSource& data,
       TrainerOptions options);

  // trainer.cpp: construction.
  void join_process_group();
  void check_image_shape() const;
  void build_model();
  void build_optimizer();
  torch::ScalarType resolve_precision() const;

  // trainer.cpp: the run loop.
  TrainResult run(bool resume);
  TrainResult run_loop(bool resume);
  void write_start_event(int64_t resumed_from);
  bool stop_requested();
  // Ends the run (status, message, event) on a diverged step or too many fp16 skips in a row.
  bool diverged(const StepResult& r, TrainResult* result);
  void dump_logs();
  int64_t last_step() const;
  void say(const std::string& s) const;
  void event(nlohmann::json record, bool flush);

  // train_step.cpp: one optimizer step over batch_size images per rank.
  StepResult run_step();
  bool forward_backward(StepResult& r);
  bool forward_backward_micro(const torch::Tensor& x0, StepResult& r, double* loss_sum);
  MicroInputs draw_inputs(const torch::Tensor& x0);
  torch::Tensor gather_per_sample(const MicroInputs& draw, const MethodLosses& terms) const;
  double log_loss_dict(const torch::Tensor& per_sample, const std::vector<int64_t>& t, const MethodLosses& terms);
  bool optimize(StepResult& r);
  bool gradients_to_masters(StepResult& r);
  void average_gradients();
  void log_norms(double grad_norm);
  void anneal_lr(StepResult& r);
  double current_lr() const;
  void update_ema();
  void log_step(const StepResult& r);
  std::vector<int64_t> my_rows() const;

  // trainer_checkpoint.cpp: collective (every rank calls them); rank 0 writes.
  void save();
  std::vector<std::pair<std::string, std::string>> gather_rank_rngs();
  void write_weight_files(TrainState& state);
  void prune_checkpoints();
  std::optional<TrainState> find_resume_state();
  void restore(const TrainState& s);
  void restore_weights(int64_t step);
  void restore_optimizer(int64_t step);
  void restore_generators(const TrainState& s);
  NamedTensors master_state() const;
  at::Generator cuda_generator() const;

  UNetConfig model_config_;
  DiffusionConfig diffusion_config_;
  TrainConfig config_;
  TrainMethod method_;
  DataSource& data_;
  TrainerOptions options_;
  GaussianDiffusion diffusion_;
  UNetModel model_{nullptr};
  std::unique_ptr<MixedPrecision> mp_;
  std::vector<torch::Tensor> params_;        // float32 masters: what the optimizer and EMAs update
  std::vector<torch::Tensor> model_params_;  // what the forward pass uses (half in the torso)
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  std::vector<Ema> emas_;
  std::unique_ptr<ScheduleSampler> sampler_;
  torch::Generator generator_;  // t, noise, xi and probes: the same stream on every rank
  int64_t step_ = 0;
  int consecutive_skips_ = 0;  // fp16 steps skipped in a row
  LogMeans log_means_;         // since the last log record
  LogWindow log_window_;
  std::string ckpt_dir_;
  std::unique_ptr<Communicator> single_;  // used when options.comm is null
  Communicator* comm_ = nullptr;
  int rank_ = 0, world_ = 1;
  std::unique_ptr<EventLog> events_;  // rank 0 only
};

}  // namespace repro::core
