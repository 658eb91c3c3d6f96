#include "core/train/trainer.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/diffusion/gaussian_diffusion.h"
#include "core/train/methods.h"
#include "core/train/resample.h"
#include "core/train/train_state.h"
#include "core/util/checkpoint.h"
#include "core/util/errors.h"
#include "core/util/file_io.h"

namespace repro::core {

namespace fs = std::filesystem;
using nlohmann::json;

const char* to_string(TrainStatus s) {
  switch (s) {
    case TrainStatus::kCompleted: return "completed";
    case TrainStatus::kInterrupted: return "interrupted";
    case TrainStatus::kDiverged: return "diverged";
  }
  return "?";
}

namespace {

// Appends one JSON object per line to events.jsonl (format: docs/events.md). `seq` numbers every
// record of the file, so an ingester can be idempotent by (run, seq).
class EventLog {
 public:
  explicit EventLog(const std::string& path) : path_(path) {
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) ++seq_;
    out_.open(path, std::ios::app);
    if (!out_) throw IoError("cannot append to " + path);
  }
  void write(json record, bool flush) {
    record["v"] = 1;
    record["seq"] = seq_++;
    record["time"] = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    out_ << record.dump() << "\n";
    if (flush) out_.flush();
  }

 private:
  std::string path_;
  std::ofstream out_;
  int64_t seq_ = 0;
};

}  // namespace

struct Trainer::Impl {
  UNetConfig model_config;
  DiffusionConfig diffusion_config;
  TrainConfig config;
  DataSource& data;
  TrainerOptions options;
  GaussianDiffusion diffusion;
  UNetModel model{nullptr};
  std::vector<torch::Tensor> params;
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  std::vector<Ema> emas;
  std::unique_ptr<ScheduleSampler> sampler;
  torch::Generator generator;
  int64_t step = 0;
  std::string ckpt_dir;

  Impl(const UNetConfig& m, const DiffusionConfig& d, const TrainConfig& c, DataSource& data_in, TrainerOptions o)
      : model_config(m), diffusion_config(d), config(c), data(data_in), options(std::move(o)), diffusion(d),
        generator(at::detail::createCPUGenerator(c.seed)) {
    config.validate();
    const auto shape = data.image_shape();
    if (shape[0] != m.in_channels || shape[1] != m.image_size || shape[2] != m.image_size)
      throw DataError(data.describe() + ": images are " + std::to_string(shape[1]) + "x" + std::to_string(shape[2]) +
                      "x" + std::to_string(shape[0]) + " but the model expects " + std::to_string(m.image_size) + "x" +
                      std::to_string(m.image_size) + "x" + std::to_string(m.in_channels));
    // Weight init and dropout use LibTorch's global generator: seed it for reproducible runs.
    torch::manual_seed(c.seed);
    model = UNetModel(m);
    model->to(options.device);
    model->train();
    params = model->parameters();
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

  void say(const std::string& s) const {
    if (options.log) options.log(s);
  }

  double current_lr() const {
    if (config.lr_anneal_steps <= 0) return config.lr;
    const double frac = static_cast<double>(step) / config.lr_anneal_steps;
    return config.lr * std::max(0.0, 1.0 - frac);
  }

  void set_lr(double lr) {
    for (auto& group : optimizer->param_groups()) group.options().set_lr(lr);
  }

  void save(EventLog& events) {
    TrainState state;
    state.step = step;
    auto write_pt = [&](const std::string& name, const std::function<void(const std::string&)>& writer) {
      const std::string path = (fs::path(ckpt_dir) / name).string();
      writer(path);
      state.files[name] = write_sha256_beside(path);
    };
    write_pt(checkpoint_name("model", step), [&](const std::string& p) { save_checkpoint(*model, p); });
    for (const auto& ema : emas) {
      write_pt(ema_name(ema.rate(), step), [&](const std::string& p) {
        NamedTensors named;
        auto names = module_state(*model);
        for (size_t i = 0; i < ema.shadow().size(); ++i) named.emplace_back(names[i].first, ema.shadow()[i]);
        write_state_dict(p, named);
      });
    }
    write_pt(checkpoint_name("opt", step), [&](const std::string& p) {
      const std::string tmp = atomic_temp_path(p);
      torch::save(*optimizer, tmp);
      commit_temp_file(tmp, p);
    });
    state.sampler_state = sampler->state();
    state.data_state = data.state();
    state.train_rng = tensor_to_hex(generator.get_state());
    state.global_rng = tensor_to_hex(at::detail::getDefaultCPUGenerator().get_state());
    write_train_state(ckpt_dir, state);
    events.write({{"type", "checkpoint"}, {"step", step}, {"files", state.files}}, true);
    say("checkpoint at step " + std::to_string(step));
  }

  void restore(const TrainState& s) {
    torch::NoGradGuard no_grad;
    load_checkpoint(*model, (fs::path(ckpt_dir) / checkpoint_name("model", s.step)).string());
    for (auto& ema : emas) {
      auto named = read_state_dict((fs::path(ckpt_dir) / ema_name(ema.rate(), s.step)).string());
      std::vector<torch::Tensor> values;
      for (auto& [name, t] : named) values.push_back(t);
      ema.load(values);
    }
    torch::load(*optimizer, (fs::path(ckpt_dir) / checkpoint_name("opt", s.step)).string());
    sampler->load_state(s.sampler_state);
    data.load_state(s.data_state);
    generator.set_state(tensor_from_hex(s.train_rng, torch::kUInt8));
    at::Generator global = at::detail::getDefaultCPUGenerator();  // a handle to the shared generator
    global.set_state(tensor_from_hex(s.global_rng, torch::kUInt8));
    step = s.step;
  }

  // One optimizer step over batch_size images; returns the log values of this step.
  json run_step(bool* finite) {
    optimizer->zero_grad();
    const int64_t batch = config.batch_size, micro = config.effective_microbatch();
    const auto dev = options.device;
    auto x_all = data.next_batch(batch).to(dev);
    const int T = diffusion.num_timesteps();
    std::vector<double> q_sum(12, 0.0), q_count(4, 0.0);
    double loss_sum = 0, mse_sum = 0, vb_sum = 0;
    ModelFn fn = [&](const torch::Tensor& x, const torch::Tensor& t) { return model->forward(x, t); };
    for (int64_t i = 0; i < batch; i += micro) {
      auto x0 = x_all.slice(0, i, i + micro);
      auto draw = sampler->sample(x0.size(0), generator, dev);
      MethodInputs in;
      in.x_start = x0;
      in.t = draw.t;
      auto cpu = torch::TensorOptions().dtype(torch::kFloat32);
      in.noise = torch::randn(x0.sizes(), generator, cpu).to(dev);
      if (config.method == "adm-ip" || config.method == "ddpm-y")
        in.xi = torch::randn(x0.sizes(), generator, cpu).to(dev);
      if (config.method == "adm-gp") in.gp_probe = torch::randn(x0.sizes(), generator, cpu).to(dev);
      auto terms = method_losses(config, diffusion, fn, in, params);
      if (!torch::isfinite(terms.loss.detach()).all().item<bool>()) {
        // Stop before anything (resampler history, weights, EMA) sees the bad values.
        *finite = false;
        return {{"loss", std::nan("")}, {"grad_norm", std::nan("")}};
      }
      // The resampler learns from the unweighted per-sample losses, as the reference does.
      auto t_cpu = draw.t.cpu();
      auto l_cpu = terms.loss.detach().to(torch::kFloat64).cpu();
      std::vector<int64_t> ts(t_cpu.data_ptr<int64_t>(), t_cpu.data_ptr<int64_t>() + t_cpu.numel());
      std::vector<double> ls(l_cpu.data_ptr<double>(), l_cpu.data_ptr<double>() + l_cpu.numel());
      sampler->update_with_losses(ts, ls);
      auto weighted = terms.loss * draw.weights;
      auto loss = weighted.mean();
      if (terms.penalty.defined()) loss = loss + terms.penalty;
      // Quirk kept from the reference: each microbatch's mean is backpropagated as is (no 1/k).
      loss.backward();
      // Log the importance-weighted values by timestep quartile (log_loss_dict).
      auto w = draw.weights.detach().cpu().to(torch::kFloat64);
      auto lw = (terms.loss.detach().cpu().to(torch::kFloat64) * w);
      auto mw = terms.mse.defined() ? terms.mse.detach().cpu().to(torch::kFloat64) * w : torch::Tensor();
      auto vw = terms.vb.defined() ? terms.vb.detach().cpu().to(torch::kFloat64) * w : torch::Tensor();
      for (int64_t k = 0; k < t_cpu.numel(); ++k) {
        const int q = std::min(3, static_cast<int>(4 * ts[k] / T));
        q_count[q] += 1;
        q_sum[q] += lw[k].item<double>();
        if (mw.defined()) q_sum[4 + q] += mw[k].item<double>();
        if (vw.defined()) q_sum[8 + q] += vw[k].item<double>();
      }
      loss_sum += lw.sum().item<double>();
      if (mw.defined()) mse_sum += mw.sum().item<double>();
      if (vw.defined()) vb_sum += vw.sum().item<double>();
    }
    double sq = 0;
    for (const auto& p : params)
      if (p.grad().defined()) sq += p.grad().detach().to(torch::kFloat64).pow(2).sum().item<double>();
    const double grad_norm = std::sqrt(sq);
    *finite = std::isfinite(grad_norm) && std::isfinite(loss_sum);  // also catches a non-finite penalty
    json rec = {{"loss", loss_sum / batch}, {"grad_norm", grad_norm}};
    if (!*finite) return rec;
    if (config.grad_clip > 0) torch::nn::utils::clip_grad_norm_(params, config.grad_clip);
    const double lr = current_lr();
    set_lr(lr);
    optimizer->step();
    for (auto& ema : emas) ema.update(params);
    ++step;
    double psq = 0;
    {
      torch::NoGradGuard ng;
      for (const auto& p : params) psq += p.detach().to(torch::kFloat64).pow(2).sum().item<double>();
    }
    rec["mse"] = mse_sum / batch;
    rec["vb"] = vb_sum / batch;
    rec["param_norm"] = std::sqrt(psq);
    rec["lr"] = lr;
    const char* names[3] = {"loss", "mse", "vb"};
    for (int k = 0; k < 3; ++k)
      for (int q = 0; q < 4; ++q)
        if (q_count[q] > 0) rec[std::string(names[k]) + "_q" + std::to_string(q)] = q_sum[4 * k + q] / q_count[q];
    return rec;
  }

  TrainResult run(bool resume) {
    TrainResult result;
    EventLog events((fs::path(options.run_dir) / "events.jsonl").string());
    if (resume) {
      std::vector<std::string> warnings;
      auto latest = find_latest_valid_checkpoint(ckpt_dir, &warnings);
      for (const auto& w : warnings) {
        say("warning: " + w);
        events.write({{"type", "warning"}, {"message", w}}, true);
      }
      if (latest) {
        restore(*latest);
        result.resumed_from = latest->step;
        say("resumed from step " + std::to_string(step));
      }
    }
    events.write({{"type", "start"},
                  {"step", step},
                  {"resumed_from", result.resumed_from},
                  {"method", config.method},
                  {"gamma", config.gamma},
                  {"batch_size", config.batch_size},
                  {"iterations", config.iterations},
                  {"device", options.device.str()},
                  {"parameters", parameter_count(*model)},
                  {"data", data.describe()}},
                 true);
    const auto start = std::chrono::steady_clock::now();
    auto window_start = start;
    int64_t window_images = 0;
    bool saved_at_step = false;
    while (step < config.iterations) {
      if (options.stop && options.stop->load()) {
        result.status = TrainStatus::kInterrupted;
        break;
      }
      bool finite = true;
      json rec = run_step(&finite);
      saved_at_step = false;
      if (!finite) {
        result.status = TrainStatus::kDiverged;
        result.message = "non-finite loss or gradient at step " + std::to_string(step + 1) +
                         " (loss " + rec["loss"].dump() + ", grad_norm " + rec["grad_norm"].dump() +
                         "); the last good checkpoint is kept";
        events.write({{"type", "diverged"}, {"step", step + 1}, {"loss", rec["loss"]}, {"grad_norm", rec["grad_norm"]}},
                     true);
        break;
      }
      window_images += config.batch_size;
      if (step % config.log_interval == 0 || step == config.iterations) {
        const auto now = std::chrono::steady_clock::now();
        const double window = std::chrono::duration<double>(now - window_start).count();
        rec["type"] = "log";
        rec["step"] = step;
        rec["samples"] = step * config.batch_size;
        rec["images_per_sec"] = window > 0 ? window_images / window : 0.0;
        rec["wall_time"] = std::chrono::duration<double>(now - start).count();
        events.write(rec, true);
        std::ostringstream line;
        line << "step " << step << "/" << config.iterations << " loss " << rec["loss"].get<double>() << " ("
             << rec["images_per_sec"].get<double>() << " img/s)";
        say(line.str());
        window_start = now;
        window_images = 0;
      }
      if (step % config.save_interval == 0) {
        save(events);
        saved_at_step = true;
      }
    }
    // A finished or interrupted run always ends on a checkpoint; a diverged one keeps the last good.
    if (result.status != TrainStatus::kDiverged && !saved_at_step && step > 0 &&
        (result.status == TrainStatus::kInterrupted || step == config.iterations))
      save(events);
    result.step = step;
    events.write({{"type", "end"}, {"status", to_string(result.status)}, {"step", step}, {"message", result.message}},
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
