#include "tasks/sample_run.h"

#include <chrono>
#include <filesystem>
#include <ostream>

#include "base/util/errors.h"
#include "base/util/npy.h"
#include "core/diffusion/image_output.h"
#include "core/diffusion/sampling.h"
#include "core/util/tensor_npy.h"
#include "tasks/runtime.h"

namespace repro::tasks {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// The diffusion process the job samples with: the config's, respaced to job.steps.
core::DiffusionConfig checked_diffusion(core::DiffusionConfig diffusion, const SampleJob& a) {
  if (a.num_samples < 1) throw ConfigError("", "--num-samples", "expected >= 1, got " + std::to_string(a.num_samples));
  if (a.batch_size < 1) throw ConfigError("", "--batch-size", "expected >= 1, got " + std::to_string(a.batch_size));
  if (a.eta < 0) throw ConfigError("", "--eta", "expected >= 0, got " + std::to_string(a.eta));
  if (a.eta != 0 && !a.ddim) throw ConfigError("", "--eta", "only the DDIM sampler takes --eta; add --ddim");
  if (!a.steps.empty()) diffusion.timestep_respacing = a.steps;
  try {
    diffusion.validate();
  } catch (const ConfigError& e) {
    throw ConfigError("", "--steps", e.detail());
  }
  return diffusion;
}

// Before the (long) sampling, so that a bad path fails first.
void create_output_folders(const SampleJob& a) {
  for (const std::string& path : {a.out, a.grid}) {
    const auto parent = std::filesystem::path(path).parent_path();
    std::error_code ec;
    if (!path.empty() && !parent.empty() && !std::filesystem::create_directories(parent, ec) && ec)
      throw IoError("cannot create the folder of " + path + ": " + ec.message());
  }
}

// job.num_samples images in batches of job.batch_size: [N, H, W, C] uint8.
torch::Tensor draw_samples(const core::UNetConfig& config, core::UNetModel& model,
                           const core::GaussianDiffusion& diffusion, const core::DeviceInfo& device, const SampleJob& a,
                           core::ToUint8 to_uint8, std::ostream& err) {
  auto generator = at::detail::createCPUGenerator(static_cast<uint64_t>(a.seed));
  core::SampleOptions options;
  options.ddim = a.ddim;
  options.eta = a.eta;
  options.clip_denoised = a.clip_denoised;
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
    auto x = core::sample_loop(diffusion, fn, {n, config.in_channels, config.image_size, config.image_size}, generator,
                               device.device, options);
    images.push_back(core::to_uint8_nhwc(x, to_uint8));
    produced += n;
  }
  return torch::cat(images);
}

}  // namespace

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
  create_output_folders(a);
  auto device = setup_runtime({a.device, a.threads});
  auto model = build_model(file, a.checkpoint, device);
  const auto start = Clock::now();
  const torch::Tensor all = draw_samples(file.model, model, diffusion, device, a, to_uint8, err);
  write_npz(a.out, {{"arr_0", core::to_npy(all)}});
  if (!a.grid.empty()) core::write_png_grid(a.grid, all);
  err << "wrote " << a.out << " (" << all.size(0) << " samples, " << diffusion.num_timesteps() << " "
      << (a.ddim ? "DDIM" : "ancestral") << " steps, " << device.description << ", torso "
      << torso_dtype_name(file.model, device.device.is_cuda()) << ", " << seconds_since(start) << " s)\n";
}

}  // namespace repro::tasks
