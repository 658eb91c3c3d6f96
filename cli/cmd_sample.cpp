// repro sample: draw images from a checkpoint with the ancestral or DDIM sampler on any respacing
// (tasks/sample_run.h), written in the reference's sample format (npz arr_0, uint8 NHWC).
#include <ostream>

#include "base/diffusion/eps_scale.h"
#include "cli/commands.h"
#include "config/model_config_yaml.h"
#include "tasks/sample_run.h"

namespace repro::cli {

namespace {

// The command line: a SampleJob plus what only the command has, with the command's defaults.
struct SampleArgs : tasks::SampleJob {
  std::string config;
  bool no_clip = false;          // the flag; the job's clip_denoised is its negation
  std::string eps_scale_option;  // --eps-scale "B" or "B,K" (absent: no scaling)
  SampleArgs() {
    num_samples = 16;
    batch_size = 16;
  }
};

}  // namespace

void add_sample_command(CLI::App& app, std::ostream& out, std::ostream& err) {
  auto a = std::make_shared<SampleArgs>();
  auto* cmd = app.add_subcommand("sample", "Sample images from a checkpoint (npz arr_0 uint8 NHWC)");
  cmd->add_option("--config", a->config, "model config YAML")->required();
  cmd->add_option("--checkpoint", a->checkpoint, "state dict (.pt, reference format); omit for an untrained model");
  cmd->add_option("--steps", a->steps, "timestep respacing: K, \"a,b,c\" or ddimK (default: the config's)");
  cmd->add_flag("--ddim", a->ddim, "DDIM sampler instead of ancestral sampling");
  cmd->add_option("--eta", a->eta, "DDIM eta")->capture_default_str();
  cmd->add_flag("--no-clip", a->no_clip, "do not clamp pred_xstart to [-1, 1]");
  auto* eps_scale =
      cmd->add_option("--eps-scale", a->eps_scale_option,
                      "Epsilon Scaling (ADM-ES): B or B,K; eps is divided by lambda_i = B + K i at respaced index i "
                      "(default 1: none)");
  cmd->add_option("--start", a->start_t,
                  "start the chain from data: x_K = q_sample(x0, K - 1, eps) of the images of --data, then indices "
                  "K - 1 ... 0 of the full process (Table 1; ancestral, no respacing)");
  cmd->add_option("--data", a->data,
                  "with --start: the x0 images, a reference batch .npz (arr_0 uint8 NHWC) or a prepared dataset; "
                  "images [0, num-samples) are used");
  cmd->add_option("--precision", a->precision,
                  "torso precision: auto (the config's: use_fp16 and precision), fp32, fp16 or bf16 (half types on "
                  "CUDA only; float32 on the CPU)")
      ->capture_default_str();
  cmd->add_option("--to-uint8", a->to_uint8,
                  "truncate (ADM's sample.py: ((x + 1) * 127.5).clamp(0, 255).to(uint8)) or round "
                  "(torchvision's save_image, as ermongroup/ddim)")
      ->capture_default_str();
  cmd->add_option("--num-samples", a->num_samples, "images to draw")->capture_default_str();
  cmd->add_option("--batch-size", a->batch_size, "images per batch")->capture_default_str();
  cmd->add_option("--seed", a->seed, "RNG seed (same seed and batch size -> same samples)")->capture_default_str();
  cmd->add_option("--out", a->out, "output .npz")->required();
  cmd->add_option("--grid", a->grid, "also write a PNG grid of the first 64 samples");
  cmd->add_flag("--quiet", a->quiet, "no progress lines");
  cmd->add_option("--device", a->device, "auto | cpu | cuda | cuda:N")->capture_default_str();
  cmd->add_option("--threads", a->threads, "intra-op CPU threads (0 = all cores)")->capture_default_str();
  cmd->callback([a, eps_scale, &err]() {
    a->clip_denoised = !a->no_clip;
    if (eps_scale->count() > 0) a->eps_scale = core::parse_eps_scale(a->eps_scale_option, "--eps-scale");
    tasks::sample_run(config::read_model_file(a->config), *a, err);
  });
}

}  // namespace repro::cli
