#include "core/train/trainer.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <sstream>

#include "base/util/errors.h"
#include "core/train/trainer_impl.h"
#include "core/util/device.h"

namespace repro::core {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

// Each skip halves the loss scale; 40 in a row (a scale of 2^-20 from 2^20) is no overflow.
constexpr int kMaxConsecutiveSkips = 40;

const char* to_string(TrainStatus s) {
  switch (s) {
    case TrainStatus::kCompleted:
      return "completed";
    case TrainStatus::kInterrupted:
      return "interrupted";
    case TrainStatus::kDiverged:
      return "diverged";
  }
  return "?";
}

Trainer::Impl::Impl(const UNetConfig& m, const DiffusionConfig& d, const TrainConfig& c, DataSource& data,
                    TrainerOptions o)
    : model_config_(m),
      diffusion_config_(d),
      config_(c),
      data_(data),
      options_(std::move(o)),
      diffusion_(d),
      generator_(at::detail::createCPUGenerator(derive_seed(c.seed, kStreamTrain))) {
  config_.validate();
  method_ = TrainMethod::from_config(config_);
  join_process_group();
  check_image_shape();
  build_model();
  build_optimizer();
  for (double rate : config_.ema_rate) emas_.emplace_back(rate, params_);
  sampler_ = create_named_schedule_sampler(config_.schedule_sampler, diffusion_.num_timesteps());
  ckpt_dir_ = (fs::path(options_.run_dir) / "checkpoints").string();
  fs::create_directories(ckpt_dir_);
}

void Trainer::Impl::join_process_group() {
  if (!options_.comm) {
    single_ = make_communicator(DistEnv{}, options_.device);
    options_.comm = single_.get();
  }
  comm_ = options_.comm;
  rank_ = comm_->rank();
  world_ = comm_->world_size();
}

void Trainer::Impl::check_image_shape() const {
  const auto shape = data_.image_shape();
  const UNetConfig& m = model_config_;
  if (shape[0] != m.in_channels || shape[1] != m.image_size || shape[2] != m.image_size)
    throw DataError(data_.describe() + ": images are " + std::to_string(shape[1]) + "x" + std::to_string(shape[2]) +
                    "x" + std::to_string(shape[0]) + " but the model expects " + std::to_string(m.image_size) + "x" +
                    std::to_string(m.image_size) + "x" + std::to_string(m.in_channels));
}

// The model on its device with its torso precision, and the float32 masters the optimizer sees.
void Trainer::Impl::build_model() {
  // Weight init and dropout use LibTorch's global generator: seed it for reproducible runs.
  torch::manual_seed(derive_seed(config_.seed, kStreamGlobal));
  model_ = UNetModel(model_config_);
  model_->to(options_.device);
  model_->train();
  if (world_ > 1) {
    // Every rank starts from rank 0's weights (the reference's sync_params); then each rank
    // gets its own dropout stream.
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> state = model_->parameters();
    for (const auto& b : model_->buffers()) state.push_back(b);
    comm_->broadcast(state, 0);
    if (rank_ > 0)
      torch::manual_seed(derive_seed(derive_seed(config_.seed, kStreamGlobal), static_cast<uint64_t>(rank_)));
  }
  const torch::ScalarType torso = resolve_precision();
  mp_ = std::make_unique<MixedPrecision>(model_, torso, /*loss_scaling=*/torso == torch::kHalf);
  params_ = mp_->master_params();
  model_params_ = model_->parameters();
}

void Trainer::Impl::build_optimizer() {
  const TrainConfig& c = config_;
  if (c.optimizer == "adam") {
    optimizer_ = std::make_unique<torch::optim::Adam>(params_, torch::optim::AdamOptions(c.lr)
                                                                   .betas({c.adam_beta1, c.adam_beta2})
                                                                   .eps(c.adam_eps)
                                                                   .weight_decay(method_.weight_decay));
  } else {
    optimizer_ = std::make_unique<torch::optim::AdamW>(params_, torch::optim::AdamWOptions(c.lr)
                                                                    .betas({c.adam_beta1, c.adam_beta2})
                                                                    .eps(c.adam_eps)
                                                                    .weight_decay(method_.weight_decay));
  }
}

torch::ScalarType Trainer::Impl::resolve_precision() const {
  const std::string& p = options_.precision;
  if (p == "auto") return torso_dtype_for(options_.device, model_config_.use_fp16, model_config_.precision);
  if (p == "fp32") return torch::kFloat32;
  if (p == "bf16") return torch::kBFloat16;
  if (p == "fp16") {
    if (!options_.device.is_cuda())
      throw ConfigError("", "--precision", "fp16 needs a CUDA device (LibTorch has no float16 convolution on the CPU)");
    return torch::kHalf;
  }
  throw ConfigError("", "--precision", "expected auto, fp32, fp16 or bf16, got '" + p + "'");
}

void Trainer::Impl::say(const std::string& s) const {
  if (options_.log && rank_ == 0) options_.log(s);
}

void Trainer::Impl::event(json record, bool flush) {
  if (events_) events_->write(std::move(record), flush);
}

// The reference stops at lr_anneal_steps when annealing.
int64_t Trainer::Impl::last_step() const {
  return config_.lr_anneal_steps > 0 ? std::min(config_.iterations, config_.lr_anneal_steps) : config_.iterations;
}

TrainResult Trainer::Impl::run(bool resume) {
  if (rank_ == 0)
    events_ = std::make_unique<EventLog>(
        options_.events_path.empty() ? (fs::path(options_.run_dir) / "events.jsonl").string() : options_.events_path);
  try {
    return run_loop(resume);
  } catch (const std::exception& e) {
    // Disk full, out of memory, ...: the events say how the run ended before the error travels on.
    event({{"type", "end"}, {"status", "error"}, {"step", step_}, {"message", e.what()}}, true);
    throw;
  }
}

// train_util's run_loop: steps until the last one, a stop or a divergence, with a log record every
// log_interval steps and a checkpoint every save_interval.
TrainResult Trainer::Impl::run_loop(bool resume) {
  TrainResult result;
  if (resume) {
    if (auto latest = find_resume_state()) {
      restore(*latest);
      result.resumed_from = latest->step;
      say("resumed from step " + std::to_string(step_));
    }
  }
  write_start_event(result.resumed_from);
  const auto now = Clock::now();
  log_window_ = LogWindow{now, now, 0, current_lr()};
  bool saved_at_step = false;
  while (step_ < last_step()) {
    if (stop_requested()) {
      result.status = TrainStatus::kInterrupted;
      break;
    }
    const StepResult r = run_step();
    saved_at_step = false;
    if (diverged(r, &result)) break;
    if (step_ % config_.log_interval == 0 || step_ == last_step()) dump_logs();
    if (step_ % config_.save_interval == 0) {
      save();
      saved_at_step = true;
    }
  }
  // A finished or interrupted run always ends on a checkpoint; a diverged one keeps the last good.
  if (result.status != TrainStatus::kDiverged && !saved_at_step && step_ > 0 &&
      (result.status == TrainStatus::kInterrupted || step_ == last_step()))
    save();
  result.step = step_;
  event({{"type", "end"}, {"status", to_string(result.status)}, {"step", step_}, {"message", result.message}}, true);
  return result;
}

void Trainer::Impl::write_start_event(int64_t resumed_from) {
  if (!events_) return;  // rank 0 writes it; an image folder's fingerprint decodes every image
  // The caller's provenance plus what only the trainer knows (docs/events.md, start).
  json provenance = json::object();
  for (const auto& [key, value] : options_.provenance) provenance[key] = value;
  provenance["seed"] = std::to_string(config_.seed);
  provenance["data_fingerprint"] = data_.fingerprint();
  provenance["world_size"] = std::to_string(world_);
  event({{"type", "start"},
         {"step", step_},
         {"resumed_from", resumed_from},
         {"method", config_.method},
         {"gamma", config_.gamma},
         {"batch_size", config_.batch_size},
         {"world_size", world_},
         {"global_batch_size", config_.batch_size * world_},
         {"iterations", config_.iterations},
         {"device", options_.device.str()},
         {"parameters", parameter_count(*model_)},
         {"data", data_.describe()},
         {"data_fingerprint", data_.fingerprint()},
         {"provenance", provenance}},
        true);
}

// A stop asked of any rank (a signal) stops every rank after the same step.
bool Trainer::Impl::stop_requested() {
  const bool stop = options_.stop && options_.stop->load() > 0;
  if (world_ == 1) return stop;
  auto flag = torch::tensor({stop ? 1 : 0}, torch::kInt32);
  comm_->all_reduce_max(flag);
  return flag.item<int>() > 0;
}

bool Trainer::Impl::diverged(const StepResult& r, TrainResult* result) {
  const bool skipping = consecutive_skips_ >= kMaxConsecutiveSkips;
  if (r.outcome != StepOutcome::kDiverged && !skipping) return false;
  const json loss = r.loss, grad_norm = r.grad_norm;  // NaN is written as null
  result->status = TrainStatus::kDiverged;
  result->message =
      (skipping ? "fp16: " + std::to_string(consecutive_skips_) + " steps skipped in a row, " : std::string()) +
      "non-finite loss or gradient at step " + std::to_string(step_ + 1) + " (loss " + loss.dump() + ", grad_norm " +
      grad_norm.dump() + "); the last good checkpoint is kept";
  event({{"type", "diverged"}, {"step", step_ + 1}, {"loss", loss}, {"grad_norm", grad_norm}}, true);
  return true;
}

// logger.dumpkvs: the means since the last record with the step, lr and throughput, and the
// progress line.
void Trainer::Impl::dump_logs() {
  const auto now = Clock::now();
  const double window = std::chrono::duration<double>(now - log_window_.start).count();
  json log = log_means_.dump();
  log["type"] = "log";
  log["step"] = step_;
  log["samples"] = step_ * config_.batch_size * world_;
  log["lr"] = log_window_.lr;
  if (mp_->loss_scaling()) log["lg_loss_scale"] = mp_->lg_loss_scale();
  const double rate = window > 0 ? static_cast<double>(log_window_.images) / window : 0.0;
  log["images_per_sec"] = rate;
  log["wall_time"] = std::chrono::duration<double>(now - log_window_.run_start).count();
  event(log, true);
  const double eta = rate > 0 ? static_cast<double>((last_step() - step_) * config_.batch_size * world_) / rate : -1;
  std::ostringstream line;
  line << "step " << step_ << "/" << last_step() << " loss " << log.value("loss", std::nan("")) << " (" << rate
       << " img/s, eta " << format_eta(eta) << ")";
  say(line.str());
  log_window_.start = now;
  log_window_.images = 0;
}

Trainer::Trainer(const UNetConfig& model, const DiffusionConfig& diffusion, const TrainConfig& config, DataSource& data,
                 TrainerOptions options)
    : impl_(std::make_unique<Impl>(model, diffusion, config, data, std::move(options))) {}
Trainer::~Trainer() = default;
TrainResult Trainer::run(bool resume) { return impl_->run(resume); }
UNetModel Trainer::model() const { return impl_->model_; }
const std::vector<Ema>& Trainer::emas() const { return impl_->emas_; }

}  // namespace repro::core
