#pragma once
// The body of `repro sample` and of the sample task: images drawn from a checkpoint with the
// ancestral or DDIM sampler on any respacing, written in the reference's sample format (npz
// arr_0, uint8 NHWC).
#include <cstdint>
#include <iosfwd>
#include <string>

#include "base/diffusion/eps_scale.h"
#include "config/model_config_yaml.h"

namespace repro::tasks {

struct SampleJob {
  std::string checkpoint;  // state dict to load; "" = an untrained model
  std::string steps;       // timestep respacing ("100", "ddim50"); "" = the config's
  bool ddim = false;
  double eta = 0;  // DDIM only
  bool clip_denoised = true;
  // Torso precision: "auto" (the model's: model.precision on CUDA when model.use_fp16, else
  // fp32), "fp32", "fp16" or "bf16". Half types apply on CUDA only; the CPU samples in float32
  // (LibTorch 1.13 has no float16 convolution there), as with use_fp16 configs.
  std::string precision = "auto";
  std::string to_uint8 = "truncate";  // truncate (ADM's sample.py) | round (torchvision's save_image)
  core::EpsScale eps_scale;           // Epsilon Scaling (ADM-ES); the default scales nothing
  // > 0: Table 1's chain from data instead of noise: x_K = q_sample(x0, K - 1, eps) of the first
  // num_samples images of `data` (tasks/x0_images.h), then indices K - 1 ... 0 of the full process
  // (`steps` must be empty or the full count; ancestral only). Per batch (rows [produced,
  // produced + n) of `data`), the seed's generator draws the labels of a class-conditional model,
  // then eps, then the chain's z.
  int start_t = 0;
  std::string data;  // the x0 images: a reference batch .npz or a prepared dataset (with start_t)
  int num_samples = 0;
  int batch_size = 64;
  int64_t seed = 0;    // same seed and batch size -> same samples, on any device
  std::string out;     // .npz, arr_0 uint8 NHWC
  std::string grid;    // also a PNG grid of the first 64 samples; "" = none
  bool quiet = false;  // no progress lines
  std::string device = "auto";
  int threads = 0;  // intra-op CPU threads; 0 = all cores
};

// `model` with use_fp16 and precision as `precision` (a SampleJob's) says; "auto" leaves it as it
// is. Throws ConfigError naming --precision for another value.
core::UNetConfig sampling_model(const core::UNetConfig& model, const std::string& precision);

// What the torso of `sampling_model`'s model samples in, on CUDA or on the CPU (core::torso_dtype_for):
// "float32", "float16" or "bfloat16".
std::string torso_dtype_name(const core::UNetConfig& sampling_model, bool on_cuda);

// `diffusion` respaced to `steps` ("" = its own timestep_respacing), validated. Throws
// ConfigError naming --steps when the process cannot be respaced so.
core::DiffusionConfig respaced_config(core::DiffusionConfig diffusion, const std::string& steps);

// The sampler settings `repro sample` and `repro model step` share, against the chain `respaced`
// (respaced_config's): eta >= 0 and only with the DDIM sampler (--eta); Epsilon Scaling finite,
// lambda_i > 0 for every respaced index and only for an epsilon-predicting model (--eps-scale).
// Throws ConfigError naming the option.
void check_sampler_options(bool ddim, double eta, const core::EpsScale& eps_scale,
                           const core::DiffusionConfig& respaced);

// Throws ConfigError naming the `repro sample` option of a bad job field (--start and --data for a
// chain from data that cannot run: no data, a respaced chain, DDIM, K outside [1, T]).
void sample_run(const config::ModelFile& model, const SampleJob& job, std::ostream& err);

}  // namespace repro::tasks
