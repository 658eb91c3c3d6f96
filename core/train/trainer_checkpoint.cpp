// The trainer's checkpoints: what a save writes (train_state.h has the files), what a resume
// restores, and which checkpoint it resumes from.
#include <ATen/detail/CUDAHooksInterface.h>

#include <filesystem>
#include <functional>
#include <map>

#include "base/train/keep_policy.h"
#include "base/util/errors.h"
#include "core/train/trainer_impl.h"

namespace repro::core {

namespace fs = std::filesystem;

// The device's default generator (dropout on the GPU draws from it); one call for LibTorch 1
// and 2, whose CUDA hooks renamed theirs.
at::Generator Trainer::Impl::cuda_generator() const { return at::globalContext().defaultGenerator(options_.device); }

NamedTensors Trainer::Impl::master_state() const {
  NamedTensors named = module_state(*model_);
  for (size_t i = 0; i < params_.size(); ++i) named[i].second = params_[i];
  return named;
}

void Trainer::Impl::save() {
  TrainState state;
  state.step = step_;
  state.world_size = world_;
  state.rank_rngs = gather_rank_rngs();
  if (rank_ != 0) {
    comm_->barrier();  // return only once rank 0 has written: a stop must not outrun its checkpoint
    return;
  }
  write_weight_files(state);
  state.sampler_state = sampler_->state();
  state.data_state = data_.state();
  state.train_rng = tensor_to_hex(generator_.get_state());
  state.global_rng = tensor_to_hex(at::detail::getDefaultCPUGenerator().get_state());
  state.lg_loss_scale = mp_->lg_loss_scale();
  if (options_.device.is_cuda())  // dropout on the GPU draws from the device's generator
    state.cuda_rng = tensor_to_hex(cuda_generator().get_state());
  write_train_state(ckpt_dir_, state);
  event({{"type", "checkpoint"}, {"step", step_}, {"files", state.files}}, true);
  say("checkpoint at step " + std::to_string(step_));
  prune_checkpoints();
  comm_->barrier();
}

// Each rank's own generators (dropout), gathered in rank order: {global, cuda}.
std::vector<std::pair<std::string, std::string>> Trainer::Impl::gather_rank_rngs() {
  auto globals = comm_->all_gather(at::detail::getDefaultCPUGenerator().get_state().unsqueeze(0));
  torch::Tensor cudas;
  if (options_.device.is_cuda()) cudas = comm_->all_gather(cuda_generator().get_state().unsqueeze(0));
  std::vector<std::pair<std::string, std::string>> out;
  for (int r = 0; r < world_; ++r)
    out.emplace_back(tensor_to_hex(globals[r]), cudas.defined() ? tensor_to_hex(cudas[r]) : "");
  return out;
}

// The model (the float32 masters, as the reference saves master_params_to_state_dict), every EMA
// and the optimizer, each with its SHA-256 in state.files.
void Trainer::Impl::write_weight_files(TrainState& state) {
  auto write_pt = [&](const std::string& name, const std::function<void(const std::string&)>& writer) {
    const std::string path = (fs::path(ckpt_dir_) / name).string();
    writer(path);
    state.files[name] = write_sha256_beside(path);
  };
  write_pt(checkpoint_name("model", step_), [&](const std::string& p) { write_state_dict(p, master_state()); });
  for (const auto& ema : emas_) {
    write_pt(ema_name(ema.rate(), step_), [&](const std::string& p) {
      NamedTensors named;
      auto names = module_state(*model_);
      for (size_t i = 0; i < ema.shadow().size(); ++i) named.emplace_back(names[i].first, ema.shadow()[i]);
      write_state_dict(p, named);
    });
  }
  write_pt(checkpoint_name("opt", step_), [&](const std::string& p) { write_optimizer_state(*optimizer_, p); });
}

// After a save (its state file written and renamed: the checkpoint a resume reads is complete):
// the older files train.keep does not keep. A crash part-way leaves extra files only; the next
// save deletes them. A file that cannot be deleted is a warning, not a failed run.
void Trainer::Impl::prune_checkpoints() {
  if (!options_.keep_steps) return;
  const KeepPlan plan =
      keep_plan(config_.keep, saved_steps(config_.save_interval, last_step()), *options_.keep_steps, step_);
  std::vector<std::string> names;
  std::error_code list_error;  // a listing cut short deletes less, never more
  for (fs::directory_iterator it(ckpt_dir_, list_error), end; !list_error && it != end; it.increment(list_error))
    names.push_back(it->path().filename().string());
  std::vector<std::string> removed;
  uintmax_t bytes = 0;
  for (const auto& name : files_to_prune(names, plan)) {
    const fs::path path = fs::path(ckpt_dir_) / name;
    std::error_code ec;
    const uintmax_t size = fs::file_size(path, ec);
    if (fs::remove(path, ec)) {
      removed.push_back(name);
      bytes += size == static_cast<uintmax_t>(-1) ? 0 : size;
    } else if (ec) {
      const std::string w = "cannot delete " + path.string() + " (train.keep): " + ec.message();
      say("warning: " + w);
      event({{"type", "warning"}, {"message", w}}, true);
    }
  }
  if (removed.empty()) return;
  event({{"type", "pruned"}, {"step", step_}, {"files", removed}, {"bytes", bytes}}, true);
  say("pruned " + std::to_string(removed.size()) + " checkpoint files (" + std::to_string(bytes) +
      " bytes) that train.keep does not keep");
}

// Rank 0 picks the checkpoint (validating every file) and tells the others which.
std::optional<TrainState> Trainer::Impl::find_resume_state() {
  std::optional<TrainState> latest;
  if (rank_ == 0) {
    std::vector<std::string> warnings;
    latest = find_latest_valid_checkpoint(ckpt_dir_, &warnings);
    for (const auto& w : warnings) {
      say("warning: " + w);
      event({{"type", "warning"}, {"message", w}}, true);
    }
  }
  if (world_ == 1) return latest;
  auto chosen = torch::tensor({latest ? latest->step : int64_t{-1}}, torch::kInt64);
  std::vector<torch::Tensor> buf{chosen};
  comm_->broadcast(buf, 0);
  const int64_t k = buf[0].item<int64_t>();
  if (k < 0) return std::nullopt;
  if (rank_ == 0) return latest;
  return read_checkpoint_state(ckpt_dir_, k);
}

void Trainer::Impl::restore(const TrainState& s) {
  if (s.world_size != world_)
    throw ConfigError(options_.run_dir, "--nproc",
                      "the checkpoint at step " + std::to_string(s.step) + " was written by " +
                          std::to_string(s.world_size) + " processes, this run has " + std::to_string(world_) +
                          " (the global batch would change): resume with the same process count");
  torch::NoGradGuard no_grad;
  restore_weights(s.step);
  mp_->set_lg_loss_scale(s.lg_loss_scale);
  for (auto& ema : emas_) {
    const std::string path = (fs::path(ckpt_dir_) / ema_name(ema.rate(), s.step)).string();
    auto named = read_state_dict(path);
    std::map<std::string, torch::Tensor> ema_by_name(named.begin(), named.end());
    std::vector<torch::Tensor> ema_values;
    for (const auto& [name, t] : module_state(*model_)) {
      auto it = ema_by_name.find(name);
      if (it == ema_by_name.end()) throw DataError(path + ": no tensor '" + name + "'");
      ema_values.push_back(it->second);
    }
    ema.load(ema_values);
  }
  restore_optimizer(s.step);
  sampler_->load_state(s.sampler_state);
  data_.load_state(s.data_state);
  restore_generators(s);
  step_ = s.step;
}

// The model's weights, and the exact float32 values into the masters (not the half copies).
void Trainer::Impl::restore_weights(int64_t step) {
  const std::string model_path = (fs::path(ckpt_dir_) / checkpoint_name("model", step)).string();
  auto saved = read_state_dict(model_path);
  load_module_state(*model_, saved, model_path);  // checks every key and shape
  std::map<std::string, torch::Tensor> by_name(saved.begin(), saved.end());
  std::vector<torch::Tensor> values;
  for (const auto& [name, t] : module_state(*model_)) values.push_back(by_name.at(name));
  mp_->load_master(values);
}

void Trainer::Impl::restore_optimizer(int64_t step) {
  const std::string opt_path = (fs::path(ckpt_dir_) / checkpoint_name("opt", step)).string();
  try {  // its SHA-256 matched the state file; a forged one still gets a message, not exit 1
    torch::load(*optimizer_, opt_path);
  } catch (const c10::Error& e) {
    throw DataError(opt_path + ": not an optimizer state this run can load: " + e.what_without_backtrace());
  }
}

void Trainer::Impl::restore_generators(const TrainState& s) {
  generator_.set_state(tensor_from_hex(s.train_rng, torch::kUInt8));
  // This rank's own generators (older single-process states have only rank 0's).
  const bool per_rank = static_cast<int>(s.rank_rngs.size()) == world_;
  const std::string& global_rng = per_rank ? s.rank_rngs[rank_].first : s.global_rng;
  const std::string& cuda_rng = per_rank ? s.rank_rngs[rank_].second : s.cuda_rng;
  at::Generator global = at::detail::getDefaultCPUGenerator();  // a handle to the shared generator
  global.set_state(tensor_from_hex(global_rng, torch::kUInt8));
  if (options_.device.is_cuda() && !cuda_rng.empty()) {
    at::Generator cuda_gen = cuda_generator();
    cuda_gen.set_state(tensor_from_hex(cuda_rng, torch::kUInt8));
  }
}

}  // namespace repro::core
