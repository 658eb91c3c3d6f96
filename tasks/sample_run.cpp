#include "tasks/sample_run.h"

#include <chrono>
#include <filesystem>
#include <memory>
#include <ostream>

#include "base/diffusion/respace.h"
#include "base/util/errors.h"
#include "base/util/npy.h"
#include "core/diffusion/image_output.h"
#include "core/diffusion/sampling.h"
#include "core/util/tensor_npy.h"
#include "tasks/runtime.h"
#include "tasks/x0_images.h"

namespace repro::tasks {

namespace {

using Clock = std::chrono::steady_clock;

// The number of steps of `d`'s (possibly respaced) chain.
int chain_length(const core::DiffusionConfig& d) {
  return d.timestep_respacing.empty()
             ? d.diffusion_steps
             : static_cast<int>(core::space_timesteps(d.diffusion_steps, d.timestep_respacing).size());
}

// A chain from data (--start K, --data D): the full process, ancestral, K in [1, T].
void check_start(const SampleJob& a, const core::DiffusionConfig& respaced) {
  if (a.start_t == 0) {
    if (!a.data.empty())
      throw ConfigError("", "--data", "the x0 images are read only for a chain from data: add --start K");
    return;
  }
  const int T = respaced.diffusion_steps;
  if (a.start_t < 1 || a.start_t > T)
    throw ConfigError(
        "", "--start",
        "expected K in [1, " + std::to_string(T) + "] (diffusion_steps), got " + std::to_string(a.start_t));
  if (a.data.empty())
    throw ConfigError("", "--data",
                      "--start K needs the images x0 to start from (a reference batch .npz or a prepared dataset)");
  if (a.ddim)
    throw ConfigError("", "--start", "a chain from data runs the ancestral sampler (the paper's Table 1); drop --ddim");
  const int steps = chain_length(respaced);
  if (steps != T)
    throw ConfigError("", "--start",
                      "a chain from data runs the full " + std::to_string(T) + "-step process, not the respaced '" +
                          respaced.timestep_respacing + "' (" + std::to_string(steps) + " steps): pass --steps " +
                          std::to_string(T) + " or none");
}

// The diffusion process the job samples with: the config's, respaced to job.steps.
core::DiffusionConfig checked_diffusion(const core::DiffusionConfig& diffusion, const SampleJob& a) {
  if (a.num_samples < 1) throw ConfigError("", "--num-samples", "expected >= 1, got " + std::to_string(a.num_samples));
  if (a.batch_size < 1) throw ConfigError("", "--batch-size", "expected >= 1, got " + std::to_string(a.batch_size));
  core::DiffusionConfig respaced = respaced_config(diffusion, a.steps);
  check_sampler_options(a.ddim, a.eta, a.eps_scale, respaced);
  check_start(a, respaced);
  return respaced;
}

// x_K = q_sample(x0, K - 1, eps) with eps drawn from `generator` (Table 1's start), on `device`.
torch::Tensor data_start(const core::GaussianDiffusion& diffusion, const torch::Tensor& x0, int start_t,
                         torch::Generator& generator, const torch::Device& device) {
  c10::InferenceMode inference;
  auto eps = torch::randn(x0.sizes(), generator, torch::TensorOptions().dtype(torch::kFloat32)).to(device);
  auto t = torch::full({x0.size(0)}, start_t - 1, torch::TensorOptions().dtype(torch::kInt64).device(device));
  return diffusion.q_sample(x0.to(device), t, eps);
}

// The x0 images of a chain from data (null for one from noise), checked before the model is built.
std::unique_ptr<X0Images> open_x0_images(const SampleJob& a, const core::UNetConfig& config) {
  if (a.start_t == 0) return nullptr;
  auto images = std::make_unique<X0Images>(a.data, config);
  if (images->size() < a.num_samples)
    throw DataError(a.data + ": holds " + std::to_string(images->size()) + " images, --num-samples asks for " +
                    std::to_string(a.num_samples));
  return images;
}

// job.num_samples images in batches of job.batch_size: [N, H, W, C] uint8. With `x0_images`, the
// chains start from its rows [produced, produced + n) (Table 1).
torch::Tensor draw_samples(const core::UNetConfig& config, core::UNetModel& model,
                           const core::GaussianDiffusion& diffusion, const core::DeviceInfo& device, const SampleJob& a,
                           const X0Images* x0_images, core::ToUint8 to_uint8, std::ostream& err) {
  auto generator = at::detail::createCPUGenerator(static_cast<uint64_t>(a.seed));
  core::SampleOptions options;
  options.ddim = a.ddim;
  options.eta = a.eta;
  options.clip_denoised = a.clip_denoised;
  options.eps_scale = a.eps_scale;
  const int total_batches = (a.num_samples + a.batch_size - 1) / a.batch_size;
  const auto start = Clock::now();
  std::vector<torch::Tensor> images;
  int produced = 0;
  for (int b = 0; b < total_batches; ++b) {
    const int n = std::min(a.batch_size, a.num_samples - produced);
    torch::Tensor y;
    if (config.num_classes > 0) y = torch::randint(config.num_classes, {n}, generator, torch::kInt64).to(device.device);
    core::ModelFn fn = [&](const torch::Tensor& x, const torch::Tensor& t) {
      return model->forward(x, t, y).to(torch::kFloat32);
    };
    options.progress = [&](int done, int total) {
      if (a.quiet) return;
      if (done == total || done % std::max(1, total / 10) == 0)
        err << "batch " << b + 1 << "/" << total_batches << " step " << done << "/" << total << " ("
            << static_cast<int>(seconds_since(start)) << " s)\n";
    };
    torch::Tensor x;
    if (x0_images) {
      auto x_start = data_start(diffusion, x0_images->rows(produced, n), a.start_t, generator, device.device);
      x = core::sample_loop_from(diffusion, fn, x_start, a.start_t - 1, generator, options);
    } else {
      x = core::sample_loop(diffusion, fn, {n, config.in_channels, config.image_size, config.image_size}, generator,
                            device.device, options);
    }
    images.push_back(core::to_uint8_nhwc(x, to_uint8));
    produced += n;
  }
  return torch::cat(images);
}

// "1000 ancestral steps", "20 of 1000 ancestral steps from data", with the scale when not 1.
std::string chain_text(const SampleJob& a, const core::GaussianDiffusion& diffusion) {
  std::string s = a.start_t > 0 ? std::to_string(a.start_t) + " of " : "";
  s += std::to_string(diffusion.num_timesteps()) + (a.ddim ? " DDIM" : " ancestral") + " steps";
  if (a.start_t > 0) s += " from data " + a.data;
  if (!a.eps_scale.is_identity()) s += ", eps scale " + core::eps_scale_text(a.eps_scale);
  return s;
}

}  // namespace

core::DiffusionConfig respaced_config(core::DiffusionConfig diffusion, const std::string& steps) {
  if (steps.empty()) {
    diffusion.validate();
    return diffusion;
  }
  diffusion.timestep_respacing = steps;
  try {
    diffusion.validate();
  } catch (const ConfigError& e) {
    throw ConfigError("", "--steps", e.detail());
  }
  return diffusion;
}

void check_sampler_options(bool ddim, double eta, const core::EpsScale& eps_scale,
                           const core::DiffusionConfig& respaced) {
  if (!(eta >= 0)) throw ConfigError("", "--eta", "expected >= 0, got " + std::to_string(eta));
  if (eta != 0 && !ddim) throw ConfigError("", "--eta", "only the DDIM sampler takes --eta; add --ddim");
  core::validate_eps_scale(eps_scale, chain_length(respaced), "", "--eps-scale");
  if (!eps_scale.is_identity() && respaced.mean_type() != core::ModelMeanType::kEpsilon)
    throw ConfigError("", "--eps-scale",
                      "Epsilon Scaling divides a predicted eps; this model predicts " +
                          std::string(respaced.mean_type() == core::ModelMeanType::kStartX ? "x_start" : "x_{t-1}") +
                          " (diffusion.predict_xstart / model_mean_type)");
}

core::UNetConfig sampling_model(const core::UNetConfig& model, const std::string& precision) {
  core::UNetConfig m = model;
  if (precision == "auto") return m;
  if (precision == "fp32") {
    m.use_fp16 = false;
  } else if (precision == "fp16" || precision == "bf16") {
    m.use_fp16 = true;
    m.precision = precision;
  } else {
    throw ConfigError("", "--precision", "expected auto, fp32, fp16 or bf16, got '" + precision + "'");
  }
  return m;
}

std::string torso_dtype_name(const core::UNetConfig& sampling_model, bool on_cuda) {
  const torch::Device device = on_cuda ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
  const torch::ScalarType t = core::torso_dtype_for(device, sampling_model.use_fp16, sampling_model.precision);
  return t == torch::kHalf ? "float16" : t == torch::kBFloat16 ? "bfloat16" : "float32";
}

void sample_run(const config::ModelFile& model_file, const SampleJob& a, std::ostream& err) {
  config::ModelFile file = model_file;
  file.diffusion = checked_diffusion(file.diffusion, a);
  file.model = sampling_model(file.model, a.precision);
  const core::ToUint8 to_uint8 = core::parse_to_uint8(a.to_uint8, "--to-uint8");
  core::GaussianDiffusion diffusion(file.diffusion);
  create_parent_folders({a.out, a.grid});
  const std::unique_ptr<X0Images> x0_images = open_x0_images(a, file.model);
  auto device = setup_runtime({a.device, a.threads});
  auto model = build_model(file, a.checkpoint, device);
  const auto start = Clock::now();
  const torch::Tensor all = draw_samples(file.model, model, diffusion, device, a, x0_images.get(), to_uint8, err);
  write_npz(a.out, {{"arr_0", core::to_npy(all)}});
  if (!a.grid.empty()) core::write_png_grid(a.grid, all);
  err << "wrote " << a.out << " (" << all.size(0) << " samples, " << chain_text(a, diffusion) << ", "
      << device.description << ", torso " << torso_dtype_name(file.model, device.device.is_cuda()) << ", "
      << seconds_since(start) << " s)\n";
}

}  // namespace repro::tasks
