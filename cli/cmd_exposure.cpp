// repro exposure: exposure bias of a checkpoint measured per step of the reverse chain
// (tasks/exposure_run.h, docs/exposure.md).
#include <ostream>

#include "base/diffusion/eps_scale.h"
#include "cli/commands.h"
#include "config/model_config_yaml.h"
#include "tasks/exposure_run.h"

namespace repro::cli {

namespace {

// The command line: an ExposureJob plus what only the command has.
struct ExposureArgs : tasks::ExposureJob {
  std::string config;
  std::string eps_scale_text;  // "B" or "B,K"; parsed into the job's eps_scale
  bool no_clip = false;        // the flag; the job's clip_denoised is its negation
};

}  // namespace

void add_exposure_command(CLI::App& app, std::ostream&, std::ostream& err) {
  auto a = std::make_shared<ExposureArgs>();
  auto* cmd = app.add_subcommand(
      "exposure",
      "Measure exposure bias per sampling step on real images x0: the eps L2 norm on the sampling chain against "
      "q(x_t | x0), and the variance of x_t - sqrt(abar_t) x0 against 1 - abar_t (JSON, optional SVG)");
  cmd->add_option("--config", a->config, "model config YAML")->required();
  cmd->add_option("--checkpoint", a->checkpoint, "state dict (.pt, reference format); omit for an untrained model");
  cmd->add_option("--data", a->data, "the x0 images: a reference .npz (arr_0 uint8 NHWC) or a prepared dataset")
      ->required();
  cmd->add_option("--steps", a->steps, "timestep respacing: K, \"a,b,c\" or ddimK (default: the config's)");
  cmd->add_option("--num", a->num, "images x0 (the first N of --data)")->required();
  auto* eps_scale =
      cmd->add_option("--eps-scale", a->eps_scale_text,
                      "Epsilon Scaling lambda_i = B + K i over the respaced index i: B or B,K (default 1: none)");
  cmd->add_option("--mode", a->mode,
                  "chain: x_t from the reverse chain started at q(x_T | x0); step: from one reverse step out of "
                  "q(x_{t+1} | x0)")
      ->capture_default_str();
  cmd->add_option("--start", a->start,
                  "chain mode: start at x_K = q_sample(x0, K - 1, eps) on the full process (0: at q(x_T | x0))")
      ->capture_default_str();
  cmd->add_flag("--ddim", a->ddim, "DDIM sampler instead of ancestral sampling");
  cmd->add_option("--eta", a->eta, "DDIM eta")->capture_default_str();
  cmd->add_flag("--no-clip", a->no_clip, "do not clamp pred_xstart to [-1, 1]");
  cmd->add_option("--precision", a->precision, "torso precision: auto, fp32, fp16 or bf16 (as repro sample)")
      ->capture_default_str();
  cmd->add_option("--batch-size", a->batch_size, "images per batch")->capture_default_str();
  cmd->add_option("--seed", a->seed, "RNG seed of every draw (same seed and batch size -> same numbers)")
      ->capture_default_str();
  cmd->add_option("--out", a->out, "output .json (one record per step)")->required();
  cmd->add_option("--plot", a->plot, "also write the curves as an SVG");
  cmd->add_flag("--quiet", a->quiet, "no progress lines");
  cmd->add_option("--device", a->device, "auto | cpu | cuda | cuda:N")->capture_default_str();
  cmd->add_option("--threads", a->threads, "intra-op CPU threads (0 = all cores)")->capture_default_str();
  cmd->callback([a, eps_scale, &err]() {
    a->clip_denoised = !a->no_clip;
    if (eps_scale->count() > 0) a->eps_scale = core::parse_eps_scale(a->eps_scale_text, "--eps-scale");
    tasks::exposure_run(config::read_model_file(a->config), *a, err);
  });
}

}  // namespace repro::cli
