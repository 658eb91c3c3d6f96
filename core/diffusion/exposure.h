#pragma once
// Exposure bias measured per step of the reverse chain (docs/exposure.md; ADM-ES, Ning et al.,
// ICLR 2024, forever208/ADM-ES: the "epsilon L2-norm" curves and the x_t_distribution branches).
// On real images x0, at every respaced index t, what the network meets while sampling (x̂_t)
// against what it met in training (q(x_t | x0)):
//   eps norm:  ||eps_theta(x̂_t, t)||_2 against ||eps_theta(q_sample(x0, t, eps), t)||_2, per image
//              over C x H x W (the raw eps: the first C channels of the output, before Epsilon
//              Scaling);
//   variance:  the mean over images and elements of (x̂_t - sqrt(abar_t) x0)^2 against the forward
//              process's 1 - abar_t.
// Pure given the model and the generator: every random draw comes from `generator` (CPU).
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "base/diffusion/exposure_record.h"
#include "core/diffusion/gaussian_diffusion.h"
#include "core/diffusion/sampling.h"

namespace repro::core {

// Where x̂_t comes from.
enum class ExposureMode {
  // The reverse chain, started from the forward process (ADM-ES's consecutive-sampling
  // branches): x̂ at the first index is q_sample(x0, first, eps) itself, so its variance ratio is
  // 1 by construction (up to sampling error); every later x̂_t is what the chain produced.
  kChain,
  // One reverse step out of the forward process (ADM-ES's each-step branches):
  // x̂_t = reverse_step(q_sample(x0, t + 1, eps), t + 1), for t = T - 2 ... 0.
  kStep,
};

// "chain" | "step"; ConfigError naming `option` otherwise.
ExposureMode parse_exposure_mode(const std::string& text, const std::string& option);
std::string exposure_mode_name(ExposureMode mode);

struct ExposureOptions {
  ExposureMode mode = ExposureMode::kChain;
  // Chain mode only. 0: the chain starts at index T - 1 (q(x_T | x0)). K in [1, T]: at index
  // K - 1 with x̂ = q_sample(x0, K - 1, eps), Table 1's data-started chain; REQUIRES the full
  // (unrespaced) process, as data-started sampling.
  int start = 0;
  // The reverse step (sampler, eta, clip_denoised, eps_scale) as sampling takes it; `progress`
  // gets (steps done, steps of this batch) after each step.
  SampleOptions sample;
};

// Running sums, per respaced index t, over every image measured so far: batches add to the same
// sums, so the means are over all images however they were batched.
class ExposureSums {
 public:
  explicit ExposureSums(int num_timesteps);

  // One batch at index t. eps_sample, eps_train: the raw eps [N, C, H, W] on x̂_t and on
  // q_sample(x0, t, eps); deviation: x̂_t - sqrt(abar_t) x0 [N, C, H, W]. Summed in float64.
  void add(int t, const torch::Tensor& eps_sample, const torch::Tensor& eps_train, const torch::Tensor& deviation);

  // One record per index that has measurements, from high t to low: the means, var_train =
  // 1 - abar_t of `diffusion` (the process the sums were measured on), var_ratio.
  std::vector<ExposureStep> steps(const GaussianDiffusion& diffusion) const;

 private:
  struct Sum {
    double eps_norm_sample = 0, eps_norm_train = 0, squared_deviation = 0;
    int64_t images = 0, elements = 0;
  };
  std::vector<Sum> sums_;
};

// Measures one batch x0 [N, C, H, W] (in [-1, 1], on the model's device) and adds it to `sums`
// (sized diffusion.num_timesteps()). `model` returns [N, C or 2C, H, W] (a learned sigma's extra
// channels are ignored). The draws from `generator`, in order, per batch:
//   chain: eps of the start; per step from high t to low: the step's noise z, then the eps of
//          the training input q_sample(x0, t, eps);
//   step:  per t from T - 2 to 0: the eps of x_{t+1}, the step's noise z, the training eps.
// In chain mode the eps on x̂_t is the model call the reverse step makes (no second call); in step
// mode x̂_t gets its own call. Runs under c10::InferenceMode and SingleThreadedBlas.
void measure_exposure(const GaussianDiffusion& diffusion, const ModelFn& model, const torch::Tensor& x0,
                      torch::Generator& generator, const ExposureOptions& options, ExposureSums& sums);

}  // namespace repro::core
