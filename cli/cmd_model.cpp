// repro model info | forward | loss | step: inspect a model config and run a checkpoint on inputs
// from .npy files (the network, the training loss terms, one reverse step), so a checkpoint or a
// port can be checked against the Python reference.
#include <iomanip>
#include <ostream>

#include "base/diffusion/eps_scale.h"
#include "base/util/errors.h"
#include "base/util/npy.h"
#include "cli/commands.h"
#include "core/diffusion/gaussian_diffusion.h"
#include "core/diffusion/sampling.h"
#include "core/util/tensor_npy.h"
#include "tasks/runtime.h"
#include "tasks/sample_run.h"

namespace repro::cli {

namespace {

struct ModelArgs {
  std::string config, checkpoint, x, t, y, x0, noise, perturbation, out;
  double gamma = 0.0;
  int batch_size = 0;
  tasks::RuntimeOptions runtime;
  // model step
  std::string steps, eps_scale;
  bool ddim = false, no_clip = false;
  double eta = 0.0;
};

std::string shape_str(torch::IntArrayRef s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + "]";
}

// Images [N, C, H, W] float32 of the model's size, from `path`.
torch::Tensor read_images(const std::string& path, const core::UNetConfig& m) {
  auto x = core::read_npy_tensor(path);
  const std::vector<int64_t> want = {-1, m.in_channels, m.image_size, m.image_size};
  if (x.dim() != 4 || x.size(1) != want[1] || x.size(2) != want[2] || x.size(3) != want[3])
    throw DataError(path + ": expected shape [N, " + std::to_string(m.in_channels) + ", " +
                    std::to_string(m.image_size) + ", " + std::to_string(m.image_size) + "], got " +
                    shape_str(x.sizes()));
  if (!x.is_floating_point()) throw DataError(path + ": expected floating-point images");
  return x.to(torch::kFloat32);
}

torch::Tensor read_indices(const std::string& path, int64_t n, int64_t limit, const std::string& what) {
  auto t = core::read_npy_tensor(path);
  if (t.dim() != 1 || t.size(0) != n)
    throw DataError(path + ": expected " + what + " of shape [" + std::to_string(n) + "], got " + shape_str(t.sizes()));
  if (t.is_floating_point()) {
    if (!torch::equal(t, t.round())) throw DataError(path + ": " + what + " must be whole numbers");
  }
  t = t.to(torch::kInt64);
  if (n > 0 && (t.min().item<int64_t>() < 0 || t.max().item<int64_t>() >= limit))
    throw DataError(path + ": " + what + " must lie in [0, " + std::to_string(limit) + "), got [" +
                    std::to_string(t.min().item<int64_t>()) + ", " + std::to_string(t.max().item<int64_t>()) + "]");
  return t;
}

torch::Tensor read_like(const std::string& path, const torch::Tensor& like) {
  auto v = core::read_npy_tensor(path);
  if (v.sizes() != like.sizes())
    throw DataError(path + ": expected shape " + shape_str(like.sizes()) + ", got " + shape_str(v.sizes()));
  return v.to(torch::kFloat32);
}

void run_info(const ModelArgs& a, std::ostream& out) {
  auto file = config::read_model_file(a.config);
  core::UNetModel model(file.model);
  out << "model (" << a.config << ")\n" << core::describe(file.model);
  out << "parameters: " << core::parameter_count(*model) << "\n";
  for (const auto& child : model->named_children())
    out << "  " << std::left << std::setw(14) << child.key() << core::parameter_count(*child.value()) << "\n";
  core::GaussianDiffusion diffusion(file.diffusion);
  const auto& d = file.diffusion;
  out << "diffusion\n"
      << "diffusion_steps: " << d.diffusion_steps << ", noise_schedule: " << d.noise_schedule << "\n"
      << "timestep_respacing: " << (d.timestep_respacing.empty() ? "(none)" : d.timestep_respacing) << " -> "
      << diffusion.num_timesteps() << " steps\n"
      << "mean: " << (d.predict_xstart ? "x_start" : "epsilon")
      << ", variance: " << (d.learn_sigma ? "learned range" : (d.sigma_small ? "fixed small" : "fixed large"))
      << ", loss: " << (d.use_kl ? "rescaled KL" : (d.rescale_learned_sigmas ? "rescaled MSE" : "MSE")) << "\n";
}

void run_forward(const ModelArgs& a, std::ostream& err) {
  auto file = config::read_model_file(a.config);
  auto device = tasks::setup_runtime(a.runtime);
  auto x = read_images(a.x, file.model);
  auto t = read_indices(a.t, x.size(0), file.diffusion.diffusion_steps, "timesteps");
  torch::Tensor y;
  if (file.model.num_classes > 0) {
    if (a.y.empty()) throw ConfigError("", "--y", "the model is class-conditional: pass labels with --y Y.npy");
    y = read_indices(a.y, x.size(0), file.model.num_classes, "class labels");
  }
  auto model = tasks::build_model(file, a.checkpoint, device);
  torch::NoGradGuard no_grad;
  const int64_t n = x.size(0), bs = a.batch_size > 0 ? a.batch_size : std::max<int64_t>(n, 1);
  std::vector<torch::Tensor> outs;
  for (int64_t i = 0; i < n; i += bs) {
    auto xb = x.slice(0, i, i + bs).to(device.device);
    auto tb = t.slice(0, i, i + bs).to(device.device);
    auto yb = y.defined() ? y.slice(0, i, i + bs).to(device.device) : torch::Tensor();
    outs.push_back(model->forward(xb, tb, yb).to(torch::kFloat32).cpu());
  }
  auto result = n > 0 ? torch::cat(outs) : torch::empty({0, file.model.out_channels(), x.size(2), x.size(3)});
  write_npy(a.out, core::to_npy(result));
  err << "wrote " << a.out << " " << shape_str(result.sizes()) << " on " << device.description << "\n";
}

void run_loss(const ModelArgs& a, std::ostream& err) {
  auto file = config::read_model_file(a.config);
  if (file.model.num_classes > 0)
    throw ConfigError(a.config, "model.num_classes", "`repro model loss` supports unconditional models only");
  auto device = tasks::setup_runtime(a.runtime);
  core::GaussianDiffusion diffusion(file.diffusion);
  auto x0 = read_images(a.x0, file.model);
  auto t = read_indices(a.t, x0.size(0), diffusion.num_timesteps(), "timesteps (of the respaced process)");
  auto noise = read_like(a.noise, x0);
  torch::Tensor perturbation;
  if (a.gamma != 0.0) {
    if (a.perturbation.empty())
      throw ConfigError("", "--perturbation", "--gamma " + std::to_string(a.gamma) + " needs --perturbation XI.npy");
    perturbation = read_like(a.perturbation, x0).to(device.device);
  }
  auto model = tasks::build_model(file, a.checkpoint, device);
  torch::NoGradGuard no_grad;
  core::ModelFn fn = [&](const torch::Tensor& x, const torch::Tensor& ts) {
    return model->forward(x, ts).to(torch::kFloat32);
  };
  auto terms = diffusion.training_losses(fn, x0.to(device.device), t.to(device.device), noise.to(device.device),
                                         perturbation, a.gamma);
  std::vector<std::pair<std::string, NpyArray>> arrays;
  arrays.emplace_back("loss", core::to_npy(terms.loss.to(torch::kFloat32)));
  if (terms.mse.defined()) arrays.emplace_back("mse", core::to_npy(terms.mse.to(torch::kFloat32)));
  if (terms.vb.defined()) arrays.emplace_back("vb", core::to_npy(terms.vb.to(torch::kFloat32)));
  write_npz(a.out, arrays);
  err << "wrote " << a.out << " (";
  for (size_t i = 0; i < arrays.size(); ++i) err << (i ? ", " : "") << arrays[i].first;
  err << ") for " << x0.size(0) << " samples on " << device.description << "\n";
}

// One reverse step (guided-diffusion's p_sample / ddim_sample) at the given respaced indices with
// the given z: OUT.npz {sample, pred_xstart}.
void run_step(const ModelArgs& a, const core::EpsScale& eps_scale, std::ostream& err) {
  auto file = config::read_model_file(a.config);
  const core::DiffusionConfig respaced = tasks::respaced_config(file.diffusion, a.steps);
  tasks::check_sampler_options(a.ddim, a.eta, eps_scale, respaced);
  core::GaussianDiffusion diffusion(respaced);
  auto device = tasks::setup_runtime(a.runtime);
  auto x = read_images(a.x, file.model);
  auto t = read_indices(a.t, x.size(0), diffusion.num_timesteps(), "indices of the respaced chain");
  auto noise = read_like(a.noise, x);
  torch::Tensor y;
  if (file.model.num_classes > 0) {
    if (a.y.empty()) throw ConfigError("", "--y", "the model is class-conditional: pass labels with --y Y.npy");
    y = read_indices(a.y, x.size(0), file.model.num_classes, "class labels").to(device.device);
  }
  auto model = tasks::build_model(file, a.checkpoint, device);
  core::SampleOptions options;
  options.ddim = a.ddim;
  options.eta = a.eta;
  options.clip_denoised = !a.no_clip;
  options.eps_scale = eps_scale;
  core::ReverseStep step;
  {
    c10::InferenceMode inference;
    core::ModelFn fn = [&](const torch::Tensor& xt, const torch::Tensor& ts) {
      return model->forward(xt, ts, y).to(torch::kFloat32);
    };
    step =
        core::reverse_step(diffusion, fn, x.to(device.device), t.to(device.device), noise.to(device.device), options);
  }
  write_npz(a.out, {{"sample", core::to_npy(step.sample.to(torch::kFloat32))},
                    {"pred_xstart", core::to_npy(step.pred_xstart.to(torch::kFloat32))}});
  err << "wrote " << a.out << " (sample, pred_xstart) for " << x.size(0) << " samples: one "
      << (a.ddim ? "DDIM (eta " + std::to_string(a.eta) + ")" : std::string("ancestral")) << " step of "
      << diffusion.num_timesteps() << (eps_scale.is_identity() ? "" : ", eps scale " + core::eps_scale_text(eps_scale))
      << " on " << device.description << "\n";
}

void add_runtime_options(CLI::App* cmd, tasks::RuntimeOptions& r) {
  cmd->add_option("--device", r.device, "auto | cpu | cuda | cuda:N")->capture_default_str();
  cmd->add_option("--threads", r.threads, "intra-op CPU threads (0 = all cores)")->capture_default_str();
}

}  // namespace

void add_model_command(CLI::App& app, std::ostream& out, std::ostream& err) {
  auto args = std::make_shared<ModelArgs>();
  auto* model = app.add_subcommand("model", "Inspect a model config; run a checkpoint on .npy inputs");
  model->require_subcommand(1);

  auto* info = model->add_subcommand("info", "Print the architecture summary and parameter count");
  info->add_option("--config", args->config, "model config YAML (model: + diffusion:)")->required();
  info->callback([args, &out]() { run_info(*args, out); });

  auto* forward = model->add_subcommand("forward", "Run the network: OUT = model(X, T)");
  forward->add_option("--config", args->config, "model config YAML")->required();
  forward->add_option("--checkpoint", args->checkpoint, "state dict (.pt, reference format)")->required();
  forward->add_option("--x", args->x, ".npy float [N, C, H, W]")->required();
  forward->add_option("--t", args->t, ".npy integer [N]: original timestep indices")->required();
  forward->add_option("--y", args->y, ".npy integer [N]: class labels (class-conditional models)");
  forward->add_option("--out", args->out, "output .npy float32 [N, out_channels, H, W]")->required();
  forward->add_option("--batch-size", args->batch_size, "rows per forward pass (0 = all at once)");
  add_runtime_options(forward, args->runtime);
  forward->callback([args, &err]() { run_forward(*args, err); });

  auto* loss = model->add_subcommand(
      "loss",
      "Per-sample training loss terms with given noise (eval mode: dropout off; call model.eval() on the "
      "Python side to compare)");
  loss->add_option("--config", args->config, "model config YAML")->required();
  loss->add_option("--checkpoint", args->checkpoint, "state dict (.pt, reference format)")->required();
  loss->add_option("--x0", args->x0, ".npy float [N, C, H, W] in [-1, 1]")->required();
  loss->add_option("--t", args->t, ".npy integer [N]: indices of the (respaced) process")->required();
  loss->add_option("--noise", args->noise, ".npy float [N, C, H, W]: eps")->required();
  loss->add_option("--perturbation", args->perturbation, ".npy float [N, C, H, W]: xi of input perturbation");
  loss->add_option("--gamma", args->gamma, "input perturbation strength (DDPM-IP); 0 = ADM")->capture_default_str();
  loss->add_option("--out", args->out, "output .npz with float32 loss, mse, vb")->required();
  add_runtime_options(loss, args->runtime);
  loss->callback([args, &err]() { run_loss(*args, err); });

  auto* step = model->add_subcommand(
      "step", "One reverse step (p_sample, or ddim_sample with --ddim) at given indices with given noise");
  step->add_option("--config", args->config, "model config YAML")->required();
  step->add_option("--checkpoint", args->checkpoint, "state dict (.pt, reference format)")->required();
  step->add_option("--x", args->x, ".npy float [N, C, H, W]: x_t")->required();
  step->add_option("--t", args->t, ".npy integer [N]: indices of the respaced chain, in [0, steps)")->required();
  step->add_option("--noise", args->noise, ".npy float [N, C, H, W]: the step's z (unused at index 0 and DDIM eta 0)")
      ->required();
  step->add_option("--y", args->y, ".npy integer [N]: class labels (class-conditional models)");
  step->add_option("--steps", args->steps, "timestep respacing: K, \"a,b,c\" or ddimK (default: the config's)");
  step->add_flag("--ddim", args->ddim, "a DDIM step instead of an ancestral one");
  step->add_option("--eta", args->eta, "DDIM eta")->capture_default_str();
  auto* eps_scale = step->add_option("--eps-scale", args->eps_scale,
                                     "Epsilon Scaling (ADM-ES): B or B,K, eps / (B + K i) at respaced index i");
  step->add_flag("--no-clip", args->no_clip, "do not clamp pred_xstart to [-1, 1]");
  step->add_option("--out", args->out, "output .npz with float32 sample and pred_xstart [N, C, H, W]")->required();
  add_runtime_options(step, args->runtime);
  step->callback([args, eps_scale, &err]() {
    const core::EpsScale scale =
        eps_scale->count() > 0 ? core::parse_eps_scale(args->eps_scale, "--eps-scale") : core::EpsScale{};
    run_step(*args, scale, err);
  });
}

}  // namespace repro::cli
