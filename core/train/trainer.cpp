#include "core/train/trainer.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/diffusion/gaussian_diffusion.h"
#include "core/train/methods.h"
#include "core/train/mixed_precision.h"
#include "core/util/device.h"

#include <ATen/detail/CUDAHooksInterface.h>
#include "core/train/resample.h"
#include "core/train/train_state.h"
#include "core/util/checkpoint.h"
#include "core/util/errors.h"
#include "core/util/event_log.h"
#include "core/util/file_io.h"

namespace repro::core {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int kMaxConsecutiveSkips = 40;

const char* to_string(TrainStatus s) {
  switch (s) {
    case TrainStatus::kCompleted: return "completed";
    case TrainStatus::kInterrupted: return "interrupted";
    case TrainStatus::kDiverged: return "diverged";
  }
  return "?";
}

namespace {

// The reference's logger.logkv_mean: per key, the mean of every value added since the last dump.
class LogMeans {
 public:
  void add(const std::string& key, double value) {
    auto& acc = acc_[key];
    acc.first += value;
    acc.second += 1;
  }
  json dump() {
    json out = json::object();
    for (const auto& [key, acc] : acc_) out[key] = acc.first / acc.second;
    acc_.clear();
    return out;
  }

 private:
  std::map<std::string, std::pair<double, int64_t>> acc_;
};

// "1h02m", "3m05s", "12s"; "?" before the first rate is known.
std::string format_eta(double seconds) {
  if (!(seconds >= 0)) return "?";
  const auto s = static_cast<int64_t>(seconds + 0.5);
  char buf[32];
  if (s >= 3600) std::snprintf(buf, sizeof(buf), "%lldh%02lldm", static_cast<long long>(s / 3600), static_cast<long long>(s % 3600 / 60));
  else if (s >= 60) std::snprintf(buf, sizeof(buf), "%lldm%02llds", static_cast<long long>(s / 60), static_cast<long long>(s % 60));
  else std::snprintf(buf, sizeof(buf), "%llds", static_cast<long long>(s));
  return buf;
}

}  // namespace

struct Trainer::Impl {
  UNetConfig model_config;
  DiffusionConfig diffusion_config;
  TrainConfig config;
  DataSource& data;
  TrainerOptions options;
  GaussianDiffusion diffusion;
  UNetModel model{nullptr};
  std::unique_ptr<MixedPrecision> mp;
  std::vector<torch::Tensor> params;        // float32 masters: what the optimizer and EMAs update
  std::vector<torch::Tensor> model_params;  // what the forward pass uses (half in the torso)
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  std::vector<Ema> emas;
  std::unique_ptr<ScheduleSampler> sampler;
  torch::Generator generator;
  int64_t step = 0;
  int consecutive_skips = 0;  // fp16 steps skipped in a row
  LogMeans log_means;         // since the last log record
  std::string ckpt_dir;
  std::unique_ptr<Communicator> single;  // used when options.comm is null
  Communicator* comm = nullptr;
  int rank = 0, world = 1;
  std::unique_ptr<EventLog> events;  // rank 0 only

  Impl(const UNetConfig& m, const DiffusionConfig& d, const TrainConfig& c, DataSource& data_in, TrainerOptions o)
      : model_config(m), diffusion_config(d), config(c), data(data_in), options(std::move(o)), diffusion(d),
        generator(at::detail::createCPUGenerator(derive_seed(c.seed, kStreamTrain))) {
    config.validate();
    if (!options.comm) {
      single = make_communicator(DistEnv{}, options.device);
      options.comm = single.get();
    }
    comm = options.comm;
    rank = comm->rank();
    world = comm->world_size();
    const auto shape = data.image_shape();
    if (shape[0] != m.in_channels || shape[1] != m.image_size || shape[2] != m.image_size)
      throw DataError(data.describe() + ": images are " + std::to_string(shape[1]) + "x" + std::to_string(shape[2]) +
                      "x" + std::to_string(shape[0]) + " but the model expects " + std::to_string(m.image_size) + "x" +
                      std::to_string(m.image_size) + "x" + std::to_string(m.in_channels));
    // Weight init and dropout use LibTorch's global generator: seed it for reproducible runs.
    torch::manual_seed(derive_seed(c.seed, kStreamGlobal));
    model = UNetModel(m);
    model->to(options.device);
    model->train();
    if (world > 1) {
      // Every rank starts from rank 0's weights (the reference's sync_params); then each rank
      // gets its own dropout stream.
      torch::NoGradGuard no_grad;
      std::vector<torch::Tensor> state = model->parameters();
      for (const auto& b : model->buffers()) state.push_back(b);
      comm->broadcast(state, 0);
      if (rank > 0) torch::manual_seed(derive_seed(derive_seed(c.seed, kStreamGlobal), static_cast<uint64_t>(rank)));
    }
    const torch::ScalarType torso = resolve_precision();
    mp = std::make_unique<MixedPrecision>(model, torso, /*loss_scaling=*/torso == torch::kHalf);
    params = mp->master_params();
    model_params = model->parameters();
    const double decoupled =
        c.method == "adm-wd" && c.wd_mode == "decoupled" ? c.lambda_wd : c.weight_decay;
    if (c.optimizer == "adam") {
      optimizer = std::make_unique<torch::optim::Adam>(
          params, torch::optim::AdamOptions(c.lr).betas({c.adam_beta1, c.adam_beta2}).eps(c.adam_eps).weight_decay(decoupled));
    } else {
      optimizer = std::make_unique<torch::optim::AdamW>(
          params, torch::optim::AdamWOptions(c.lr).betas({c.adam_beta1, c.adam_beta2}).eps(c.adam_eps).weight_decay(decoupled));
    }
    for (double rate : c.ema_rate) emas.emplace_back(rate, params);
    sampler = create_named_schedule_sampler(c.schedule_sampler, diffusion.num_timesteps());
    ckpt_dir = (fs::path(options.run_dir) / "checkpoints").string();
    fs::create_directories(ckpt_dir);
  }

  // The device's default generator (dropout on the GPU draws from it); one call for LibTorch 1
  // and 2, whose CUDA hooks renamed theirs.
  at::Generator cuda_generator() const { return at::globalContext().defaultGenerator(options.device); }

  torch::ScalarType resolve_precision() const {
    const std::string& p = options.precision;
    if (p == "auto") return torso_dtype_for(options.device, model_config.use_fp16, model_config.precision);
    if (p == "fp32") return torch::kFloat32;
    if (p == "bf16") return torch::kBFloat16;
    if (p == "fp16") {
      if (!options.device.is_cuda())
        throw ConfigError("", "--precision", "fp16 needs a CUDA device (LibTorch has no float16 convolution on the CPU)");
      return torch::kHalf;
    }
    throw ConfigError("", "--precision", "expected auto, fp32, fp16 or bf16, got '" + p + "'");
  }

  NamedTensors master_state() const {
    NamedTensors named = module_state(*model);
    for (size_t i = 0; i < params.size(); ++i) named[i].second = params[i];
    return named;
  }

  void say(const std::string& s) const {
    if (options.log && rank == 0) options.log(s);
  }

  // The caller's provenance plus what only the trainer knows (docs/events.md, start).
  json start_provenance() const {
    json p = json::object();
    for (const auto& [key, value] : options.provenance) p[key] = value;
    p["seed"] = std::to_string(config.seed);
    p["data_fingerprint"] = data.fingerprint();
    p["world_size"] = std::to_string(world);
    return p;
  }

  void event(json record, bool flush) {
    if (events) events->write(std::move(record), flush);
  }

  // The reference anneals after each step from the step just taken, so step s (0-based) trains
  // with lr * (1 - (s - 1) / N), and steps 0 and 1 both use lr.
  double current_lr() const {
    if (config.lr_anneal_steps <= 0) return config.lr;
    const double frac = static_cast<double>(std::max<int64_t>(step - 1, 0)) / config.lr_anneal_steps;
    return config.lr * std::max(0.0, 1.0 - frac);
  }

  // The reference stops at lr_anneal_steps when annealing.
  int64_t last_step() const {
    return config.lr_anneal_steps > 0 ? std::min(config.iterations, config.lr_anneal_steps) : config.iterations;
  }

  void set_lr(double lr) {
    for (auto& group : optimizer->param_groups()) group.options().set_lr(lr);
  }

  // Collective: every rank calls it; rank 0 writes.
  void save() {
    TrainState state;
    state.step = step;
    state.world_size = world;
    {
      // Each rank's own generators (dropout), gathered in rank order.
      auto global = at::detail::getDefaultCPUGenerator().get_state().unsqueeze(0);
      auto globals = comm->all_gather(global);
      torch::Tensor cudas;
      if (options.device.is_cuda())
        cudas = comm->all_gather(
            cuda_generator().get_state().unsqueeze(0));
      for (int r = 0; r < world; ++r)
        state.rank_rngs.emplace_back(tensor_to_hex(globals[r]), cudas.defined() ? tensor_to_hex(cudas[r]) : "");
    }
    if (rank != 0) {
      comm->barrier();  // return only once rank 0 has written: a stop must not outrun its checkpoint
      return;
    }
    auto write_pt = [&](const std::string& name, const std::function<void(const std::string&)>& writer) {
      const std::string path = (fs::path(ckpt_dir) / name).string();
      writer(path);
      state.files[name] = write_sha256_beside(path);
    };
    // The float32 masters, as the reference saves master_params_to_state_dict.
    write_pt(checkpoint_name("model", step), [&](const std::string& p) { write_state_dict(p, master_state()); });
    for (const auto& ema : emas) {
      write_pt(ema_name(ema.rate(), step), [&](const std::string& p) {
        NamedTensors named;
        auto names = module_state(*model);
        for (size_t i = 0; i < ema.shadow().size(); ++i) named.emplace_back(names[i].first, ema.shadow()[i]);
        write_state_dict(p, named);
      });
    }
    write_pt(checkpoint_name("opt", step), [&](const std::string& p) { write_optimizer_state(*optimizer, p); });
    state.sampler_state = sampler->state();
    state.data_state = data.state();
    state.train_rng = tensor_to_hex(generator.get_state());
    state.global_rng = tensor_to_hex(at::detail::getDefaultCPUGenerator().get_state());
    state.lg_loss_scale = mp->lg_loss_scale();
    if (options.device.is_cuda())  // dropout on the GPU draws from the device's generator
      state.cuda_rng = tensor_to_hex(
          cuda_generator().get_state());
    write_train_state(ckpt_dir, state);
    event({{"type", "checkpoint"}, {"step", step}, {"files", state.files}}, true);
    say("checkpoint at step " + std::to_string(step));
    comm->barrier();
  }

  void restore(const TrainState& s) {
    if (s.world_size != world)
      throw ConfigError(options.run_dir, "--nproc",
                        "the checkpoint at step " + std::to_string(s.step) + " was written by " +
                            std::to_string(s.world_size) + " processes, this run has " + std::to_string(world) +
                            " (the global batch would change): resume with the same process count");
    torch::NoGradGuard no_grad;
    const std::string model_path = (fs::path(ckpt_dir) / checkpoint_name("model", s.step)).string();
    auto saved = read_state_dict(model_path);
    load_module_state(*model, saved, model_path);  // checks every key and shape
    std::map<std::string, torch::Tensor> by_name(saved.begin(), saved.end());
    std::vector<torch::Tensor> values;
    for (const auto& [name, t] : module_state(*model)) values.push_back(by_name.at(name));
    mp->load_master(values);  // exact float32 values, not the half copies
    mp->set_lg_loss_scale(s.lg_loss_scale);
    for (auto& ema : emas) {
      const std::string path = (fs::path(ckpt_dir) / ema_name(ema.rate(), s.step)).string();
      auto named = read_state_dict(path);
      std::map<std::string, torch::Tensor> ema_by_name(named.begin(), named.end());
      std::vector<torch::Tensor> ema_values;
      for (const auto& [name, t] : module_state(*model)) {
        auto it = ema_by_name.find(name);
        if (it == ema_by_name.end()) throw DataError(path + ": no tensor '" + name + "'");
        ema_values.push_back(it->second);
      }
      ema.load(ema_values);
    }
    const std::string opt_path = (fs::path(ckpt_dir) / checkpoint_name("opt", s.step)).string();
    try {  // its SHA-256 matched the state file; a forged one still gets a message, not exit 1
      torch::load(*optimizer, opt_path);
    } catch (const c10::Error& e) {
      throw DataError(opt_path + ": not an optimizer state this run can load: " + e.what_without_backtrace());
    }
    sampler->load_state(s.sampler_state);
    data.load_state(s.data_state);
    generator.set_state(tensor_from_hex(s.train_rng, torch::kUInt8));
    // This rank's own generators (older single-process states have only rank 0's).
    const std::string& global_rng = static_cast<int>(s.rank_rngs.size()) == world ? s.rank_rngs[rank].first : s.global_rng;
    const std::string& cuda_rng = static_cast<int>(s.rank_rngs.size()) == world ? s.rank_rngs[rank].second : s.cuda_rng;
    at::Generator global = at::detail::getDefaultCPUGenerator();  // a handle to the shared generator
    global.set_state(tensor_from_hex(global_rng, torch::kUInt8));
    if (options.device.is_cuda() && !cuda_rng.empty()) {
      at::Generator cuda_gen = cuda_generator();
      cuda_gen.set_state(tensor_from_hex(cuda_rng, torch::kUInt8));
    }
    step = s.step;
  }

  // Rows of the global batch this rank trains on: its slice of every global microbatch, so that
  // microbatch i of rank r is rows [i*m*W + r*m, i*m*W + (r+1)*m) of the global batch.
  std::vector<int64_t> my_rows() const {
    const int64_t batch = config.batch_size, micro = config.effective_microbatch();
    std::vector<int64_t> rows;
    for (int64_t i = 0; i < batch; i += micro)
      for (int64_t j = 0; j < micro; ++j) rows.push_back(i * world + rank * micro + j);
    return rows;
  }

  // The reference's DDP all-reduce: every rank's gradients replaced by their mean over ranks.
  void average_gradients() {
    if (world == 1) return;
    // A parameter no rank used keeps no gradient (the optimizer skips it), as in one process.
    auto used = torch::zeros({static_cast<int64_t>(model_params.size())}, torch::kInt32);
    for (size_t i = 0; i < model_params.size(); ++i) used[i] = model_params[i].grad().defined() ? 1 : 0;
    comm->all_reduce_max(used);
    std::vector<torch::Tensor> flat;
    for (size_t i = 0; i < model_params.size(); ++i) {
      auto& p = model_params[i];
      if (used[i].item<int>() == 0) continue;
      if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
      flat.push_back(p.grad().flatten().to(torch::kFloat32));
    }
    if (flat.empty()) return;
    auto buf = torch::cat(flat);
    comm->all_reduce_sum(buf);
    buf.div_(world);
    int64_t offset = 0;
    for (size_t i = 0; i < model_params.size(); ++i) {
      auto& p = model_params[i];
      if (used[i].item<int>() == 0) continue;
      const int64_t n = p.numel();
      p.mutable_grad().copy_(buf.slice(0, offset, offset + n).view(p.sizes()));
      offset += n;
    }
  }

  // One optimizer step over batch_size images per rank; returns the log values of this step.
  json run_step(bool* finite) {
    optimizer->zero_grad();
    model->zero_grad();
    const int64_t batch = config.batch_size, micro = config.effective_microbatch();
    const int64_t global_micro = micro * world;
    const auto dev = options.device;
    auto x_all = data.next_batch_rows(batch * world, my_rows()).to(dev);
    const int T = diffusion.num_timesteps();
    double loss_sum = 0;
    ModelFn fn = [&](const torch::Tensor& x, const torch::Tensor& t) { return model->forward(x, t); };
    const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
    for (int64_t i = 0; i < batch; i += micro) {
      auto x0 = x_all.slice(0, i, i + micro);
      // Every rank draws the whole global microbatch's t and noise from the same generator and
      // keeps its own slice: the computation does not depend on the number of processes.
      auto mine = [&](const torch::Tensor& g) { return g.slice(0, rank * micro, (rank + 1) * micro); };
      auto shape = x0.sizes().vec();
      shape[0] = global_micro;
      auto draw = sampler->sample(global_micro, generator, dev);
      const auto weights = mine(draw.weights);
      MethodInputs in;
      in.x_start = x0;
      in.t = mine(draw.t);
      auto cpu = torch::TensorOptions().dtype(torch::kFloat32);
      in.noise = mine(torch::randn(shape, generator, cpu)).to(dev);
      if (config.method == "adm-ip" || config.method == "ddpm-y")
        in.xi = mine(torch::randn(shape, generator, cpu)).to(dev);
      if (config.method == "adm-gp") in.gp_probe = mine(torch::randn(shape, generator, cpu)).to(dev);
      auto terms = method_losses(config, diffusion, fn, in, model_params);
      // Every rank's per-sample values, [global_micro, 5]: t, loss, mse, vb, weight (the
      // reference's all_gather in update_with_local_losses, and the mean over ranks of its logs).
      auto col = [&](const torch::Tensor& v) {
        return v.defined() ? v.detach().to(torch::kFloat64).cpu() : torch::full({micro}, std::nan(""), f64);
      };
      auto all = comm->all_gather(torch::stack({col(in.t), col(terms.loss), col(terms.mse), col(terms.vb), col(weights)}, 1));
      if (!torch::isfinite(all.select(1, 1)).all().item<bool>()) {
        if (mp->loss_scaling()) {  // an fp16 overflow in the forward pass: skip, as for gradients
          mp->set_lg_loss_scale(mp->lg_loss_scale() - 1);
          ++step;
          return {{"loss", std::nan("")}, {"skipped", true}, {"lg_loss_scale", mp->lg_loss_scale()}};
        }
        // Stop before anything (resampler history, weights, EMA) sees the bad values.
        *finite = false;
        return {{"loss", std::nan("")}, {"grad_norm", std::nan("")}};
      }
      // The resampler learns from the unweighted per-sample losses of all ranks, as the reference.
      auto t_all = all.select(1, 0).to(torch::kInt64).contiguous();
      auto l_all = all.select(1, 1).contiguous();
      std::vector<int64_t> ts(t_all.data_ptr<int64_t>(), t_all.data_ptr<int64_t>() + t_all.numel());
      std::vector<double> ls(l_all.data_ptr<double>(), l_all.data_ptr<double>() + l_all.numel());
      sampler->update_with_losses(ts, ls);
      auto loss = (terms.loss * weights).mean();
      if (terms.penalty.defined()) loss = loss + terms.penalty;
      // Quirk kept from the reference: each microbatch's mean is backpropagated as is (no 1/k).
      mp->scale_loss(loss).backward();
      // log_loss_dict: the importance-weighted microbatch means, and every sample by quartile.
      auto w = all.select(1, 4);
      auto lw = l_all * w;
      auto mw = terms.mse.defined() ? all.select(1, 2) * w : torch::Tensor();
      auto vw = terms.vb.defined() ? all.select(1, 3) * w : torch::Tensor();
      log_means.add("loss", lw.mean().item<double>());
      if (mw.defined()) log_means.add("mse", mw.mean().item<double>());
      if (vw.defined()) log_means.add("vb", vw.mean().item<double>());
      auto lw_a = lw.accessor<double, 1>();
      for (int64_t k = 0; k < global_micro; ++k) {
        const std::string q = "_q" + std::to_string(std::min(3, static_cast<int>(4 * ts[k] / T)));
        log_means.add("loss" + q, lw_a[k]);
        if (mw.defined()) log_means.add("mse" + q, mw[k].item<double>());
        if (vw.defined()) log_means.add("vb" + q, vw[k].item<double>());
      }
      loss_sum += lw.sum().item<double>();
    }
    average_gradients();
    double grad_norm = 0;
    const bool take_step = mp->grads_to_master(&grad_norm);
    json rec = {{"loss", loss_sum / (batch * world)}, {"grad_norm", grad_norm}};
    if (!take_step) {
      // fp16 overflow: the reference skips the optimizer and EMA updates and goes on.
      ++step;
      rec["skipped"] = true;
      return rec;
    }
    // Without loss scaling a non-finite gradient is a divergence (as is a non-finite penalty).
    *finite = std::isfinite(grad_norm) && std::isfinite(loss_sum);
    if (!*finite) return rec;
    double psq = 0;  // before the update, as the reference's _compute_norms
    {
      torch::NoGradGuard ng;
      for (const auto& p : params) psq += p.detach().to(torch::kFloat64).pow(2).sum().item<double>();
    }
    log_means.add("grad_norm", grad_norm);
    log_means.add("param_norm", std::sqrt(psq));
    if (config.grad_clip > 0) torch::nn::utils::clip_grad_norm_(params, config.grad_clip);
    const double lr = current_lr();
    set_lr(lr);
    optimizer->step();
    mp->masters_to_model();
    for (auto& ema : emas) ema.update(params);
    ++step;
    rec["lr"] = lr;
    return rec;
  }

  TrainResult run(bool resume) {
    if (rank == 0)
      events = std::make_unique<EventLog>(options.events_path.empty() ? (fs::path(options.run_dir) / "events.jsonl").string()
                                                                       : options.events_path);
    try {
      return run_logged(resume);
    } catch (const std::exception& e) {
      // Disk full, out of memory, ...: the events say how the run ended before the error travels on.
      event({{"type", "end"}, {"status", "error"}, {"step", step}, {"message", e.what()}}, true);
      throw;
    }
  }

  // Rank 0 picks the checkpoint (validating every file) and tells the others which.
  std::optional<TrainState> find_resume_state() {
    std::optional<TrainState> latest;
    if (rank == 0) {
      std::vector<std::string> warnings;
      latest = find_latest_valid_checkpoint(ckpt_dir, &warnings);
      for (const auto& w : warnings) {
        say("warning: " + w);
        event({{"type", "warning"}, {"message", w}}, true);
      }
    }
    if (world == 1) return latest;
    auto chosen = torch::tensor({latest ? latest->step : int64_t{-1}}, torch::kInt64);
    std::vector<torch::Tensor> buf{chosen};
    comm->broadcast(buf, 0);
    const int64_t k = buf[0].item<int64_t>();
    if (k < 0) return std::nullopt;
    if (rank == 0) return latest;
    return read_checkpoint_state(ckpt_dir, k);
  }

  // A stop asked of any rank (a signal) stops every rank after the same step.
  bool stop_requested() {
    bool stop = options.stop && options.stop->load();
    if (world == 1) return stop;
    auto flag = torch::tensor({stop ? 1 : 0}, torch::kInt32);
    comm->all_reduce_max(flag);
    return flag.item<int>() > 0;
  }

  TrainResult run_logged(bool resume) {
    TrainResult result;
    if (resume) {
      if (auto latest = find_resume_state()) {
        restore(*latest);
        result.resumed_from = latest->step;
        say("resumed from step " + std::to_string(step));
      }
    }
    event({{"type", "start"},
                  {"step", step},
                  {"resumed_from", result.resumed_from},
                  {"method", config.method},
                  {"gamma", config.gamma},
                  {"batch_size", config.batch_size},
                  {"world_size", world},
                  {"global_batch_size", config.batch_size * world},
                  {"iterations", config.iterations},
                  {"device", options.device.str()},
                  {"parameters", parameter_count(*model)},
                  {"data", data.describe()},
                  {"data_fingerprint", data.fingerprint()},
                  {"provenance", start_provenance()}},
                 true);
    const auto start = std::chrono::steady_clock::now();
    auto window_start = start;
    int64_t window_images = 0;
    bool saved_at_step = false;
    double current_lr_used = current_lr();
    while (step < last_step()) {
      if (stop_requested()) {
        result.status = TrainStatus::kInterrupted;
        break;
      }
      bool finite = true;
      json rec = run_step(&finite);
      saved_at_step = false;
      consecutive_skips = rec.contains("skipped") ? consecutive_skips + 1 : 0;
      if (rec.contains("lr")) current_lr_used = rec["lr"].get<double>();
      // Each skip halves the loss scale; 40 in a row (a scale of 2^-20 from 2^20) is no overflow.
      if (consecutive_skips >= kMaxConsecutiveSkips) finite = false;
      if (!finite) {
        result.status = TrainStatus::kDiverged;
        result.message = (consecutive_skips >= kMaxConsecutiveSkips ? std::string("fp16: ") +
                              std::to_string(consecutive_skips) + " steps skipped in a row, " : std::string()) +
                         "non-finite loss or gradient at step " + std::to_string(step + 1) +
                         " (loss " + rec["loss"].dump() + ", grad_norm " + rec["grad_norm"].dump() +
                         "); the last good checkpoint is kept";
        event({{"type", "diverged"}, {"step", step + 1}, {"loss", rec["loss"]}, {"grad_norm", rec["grad_norm"]}},
                     true);
        break;
      }
      window_images += config.batch_size * world;
      if (step % config.log_interval == 0 || step == last_step()) {
        const auto now = std::chrono::steady_clock::now();
        const double window = std::chrono::duration<double>(now - window_start).count();
        json log = log_means.dump();
        log["type"] = "log";
        log["step"] = step;
        log["samples"] = step * config.batch_size * world;
        log["lr"] = current_lr_used;
        if (mp->loss_scaling()) log["lg_loss_scale"] = mp->lg_loss_scale();
        log["images_per_sec"] = window > 0 ? window_images / window : 0.0;
        log["wall_time"] = std::chrono::duration<double>(now - start).count();
        event(log, true);
        std::ostringstream line;
        const double rate = log["images_per_sec"].get<double>();
        line << "step " << step << "/" << last_step() << " loss " << log.value("loss", std::nan("")) << " ("
             << rate << " img/s, eta " << format_eta(rate > 0 ? (last_step() - step) * config.batch_size * world / rate : -1)
             << ")";
        say(line.str());
        window_start = now;
        window_images = 0;
      }
      if (step % config.save_interval == 0) {
        save();
        saved_at_step = true;
      }
    }
    // A finished or interrupted run always ends on a checkpoint; a diverged one keeps the last good.
    if (result.status != TrainStatus::kDiverged && !saved_at_step && step > 0 &&
        (result.status == TrainStatus::kInterrupted || step == last_step()))
      save();
    result.step = step;
    event({{"type", "end"}, {"status", to_string(result.status)}, {"step", step}, {"message", result.message}},
                 true);
    return result;
  }
};

Trainer::Trainer(const UNetConfig& model, const DiffusionConfig& diffusion, const TrainConfig& config, DataSource& data,
                 TrainerOptions options)
    : impl_(std::make_unique<Impl>(model, diffusion, config, data, std::move(options))) {}
Trainer::~Trainer() = default;
TrainResult Trainer::run(bool resume) { return impl_->run(resume); }
UNetModel Trainer::model() const { return impl_->model; }
const std::vector<Ema>& Trainer::emas() const { return impl_->emas; }

}  // namespace repro::core
