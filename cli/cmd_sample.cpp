// repro sample: draw images from a checkpoint with the ancestral or DDIM sampler on any respacing,
// written in the reference's sample format (npz arr_0, uint8 NHWC).
#include <chrono>
#include <filesystem>
#include <ostream>

#include "cli/cli_common.h"
#include "cli/commands.h"
#include "core/diffusion/image_output.h"
#include "core/diffusion/sampling.h"
#include "core/util/errors.h"
#include "core/util/npy.h"
#include "core/util/tensor_npy.h"

namespace repro::cli {

namespace {

// The command line: a SampleJob (commands.h) plus what only the command has.
struct SampleArgs : SampleJob {
  std::string config, grid;
  bool no_clip = false;  // the flag; the job's clip_denoised is its negation
  bool quiet = false;
  std::string device = "auto";
  SampleArgs() {
    num_samples = 16;
    batch_size = 16;
  }
};

void sample_with(config::ModelFile file, const SampleArgs& a, std::ostream& err) {
  if (a.num_samples < 1) throw ConfigError("", "--num-samples", "expected >= 1, got " + std::to_string(a.num_samples));
  if (a.batch_size < 1) throw ConfigError("", "--batch-size", "expected >= 1, got " + std::to_string(a.batch_size));
  if (a.eta < 0) throw ConfigError("", "--eta", "expected >= 0, got " + std::to_string(a.eta));
  if (a.eta != 0 && !a.ddim) throw ConfigError("", "--eta", "only the DDIM sampler takes --eta; add --ddim");
  if (!a.steps.empty()) file.diffusion.timestep_respacing = a.steps;
  try {
    file.diffusion.validate();
  } catch (const ConfigError& e) {
    throw ConfigError("", "--steps", e.detail());
  }
  core::GaussianDiffusion diffusion(file.diffusion);
  // Create output folders before the (long) sampling, so a bad path fails first.
  for (const std::string& path : {a.out, a.grid}) {
    const auto parent = std::filesystem::path(path).parent_path();
    std::error_code ec;
    if (!path.empty() && !parent.empty() && !std::filesystem::create_directories(parent, ec) && ec)
      throw IoError("cannot create the folder of " + path + ": " + ec.message());
  }
  auto device = setup_runtime({a.device, a.threads});
  auto model = build_model(file, a.checkpoint, device);

  auto generator = at::detail::createCPUGenerator(static_cast<uint64_t>(a.seed));
  core::SampleOptions options;
  options.ddim = a.ddim;
  options.eta = a.eta;
  options.clip_denoised = a.clip_denoised;
  const int total_batches = (a.num_samples + a.batch_size - 1) / a.batch_size;
  const auto start = std::chrono::steady_clock::now();
  std::vector<torch::Tensor> images;
  int produced = 0;
  for (int b = 0; b < total_batches; ++b) {
    const int n = std::min(a.batch_size, a.num_samples - produced);
    torch::Tensor y;
    if (file.model.num_classes > 0)
      y = torch::randint(file.model.num_classes, {n}, generator, torch::kInt64).to(device.device);
    core::ModelFn fn = [&](const torch::Tensor& x, const torch::Tensor& t) {
      return model->forward(x, t, y).to(torch::kFloat32);
    };
    options.progress = [&](int done, int total) {
      if (a.quiet) return;
      if (done == total || done % std::max(1, total / 10) == 0) {
        double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        err << "batch " << b + 1 << "/" << total_batches << " step " << done << "/" << total << " ("
            << static_cast<int>(secs) << " s)\n";
      }
    };
    auto x = core::sample_loop(diffusion, fn, {n, file.model.in_channels, file.model.image_size, file.model.image_size},
                               generator, device.device, options);
    images.push_back(core::to_uint8_nhwc(x));
    produced += n;
  }
  auto all = torch::cat(images);
  write_npz(a.out, {{"arr_0", core::to_npy(all)}});
  if (!a.grid.empty()) core::write_png_grid(a.grid, all);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  err << "wrote " << a.out << " (" << produced << " samples, " << diffusion.num_timesteps() << " "
      << (a.ddim ? "DDIM" : "ancestral") << " steps, " << device.description << ", " << secs << " s)\n";
}

void run_sample(const SampleArgs& a, std::ostream& err) { sample_with(config::read_model_file(a.config), a, err); }

}  // namespace

void sample_run(const config::ModelFile& model, const SampleJob& job, std::ostream& err) {
  SampleArgs a;
  static_cast<SampleJob&>(a) = job;
  sample_with(model, a, err);
}

void add_sample_command(CLI::App& app, std::ostream& out, std::ostream& err) {
  auto a = std::make_shared<SampleArgs>();
  auto* cmd = app.add_subcommand("sample", "Sample images from a checkpoint (npz arr_0 uint8 NHWC)");
  cmd->add_option("--config", a->config, "model config YAML")->required();
  cmd->add_option("--checkpoint", a->checkpoint, "state dict (.pt, reference format); omit for an untrained model");
  cmd->add_option("--steps", a->steps, "timestep respacing: K, \"a,b,c\" or ddimK (default: the config's)");
  cmd->add_flag("--ddim", a->ddim, "DDIM sampler instead of ancestral sampling");
  cmd->add_option("--eta", a->eta, "DDIM eta")->capture_default_str();
  cmd->add_flag("--no-clip", a->no_clip, "do not clamp pred_xstart to [-1, 1]");
  cmd->add_option("--num-samples", a->num_samples, "images to draw")->capture_default_str();
  cmd->add_option("--batch-size", a->batch_size, "images per batch")->capture_default_str();
  cmd->add_option("--seed", a->seed, "RNG seed (same seed and batch size -> same samples)")->capture_default_str();
  cmd->add_option("--out", a->out, "output .npz")->required();
  cmd->add_option("--grid", a->grid, "also write a PNG grid of the first 64 samples");
  cmd->add_flag("--quiet", a->quiet, "no progress lines");
  cmd->add_option("--device", a->device, "auto | cpu | cuda | cuda:N")->capture_default_str();
  cmd->add_option("--threads", a->threads, "intra-op CPU threads (0 = all cores)")->capture_default_str();
  cmd->callback([a, &err]() {
    a->clip_denoised = !a->no_clip;
    run_sample(*a, err);
  });
}

}  // namespace repro::cli
