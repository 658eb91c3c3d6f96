#pragma once
// How a run is evaluated (the eval: section of a run's config): which checkpoints, how they are
// sampled, how many samples, and which metrics against which reference batch. Plain, torch-free;
// the defaults are the paper's protocol (paper-spec §7).
#include <cstdint>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include <nlohmann/json.hpp>
#include "base/diffusion/eps_scale.h"

namespace repro::runner {

// eval.start: where the reverse chain starts (Table 1). from "noise" (the sampler's x_T) or "data":
// x_K = q_sample(x0, K - 1, eps) of images of `data` (default: eval.reference), then the chain
// runs indices K - 1 ... 0 of the full process; one evaluation per K in `t`.
struct EvalStart {
  std::string from = "noise";  // noise | data
  std::vector<int> t;          // from data: the chain lengths K, each in [1, diffusion_steps]
  std::string data;            // from data: the x0 images; "" = eval.reference
};

// eval.exposure: per evaluated checkpoint and sampler setting, also measure exposure bias
// (`repro exposure`) on `num` images of `data` (default: eval.reference). num 0 = not asked.
struct ExposureRequest {
  int64_t num = 0;
  std::string mode = "chain";  // chain | step
  std::string data;
};

struct EvalSpec {
  std::vector<int64_t> at_iterations;  // checkpoint steps to evaluate; empty = the final one
  std::vector<int> sampling_steps;     // respaced step counts; empty = every diffusion step
  std::string sampler = "ancestral";   // ancestral | ddim
  std::vector<double> eta = {0.0};     // ddim only: one evaluation per eta
  int64_t num_samples = 50000;         // the paper's 50K
  std::string ema = "0.9999";          // an EMA rate of train.ema_rate, or "model" (raw weights)
  int batch_size = 64;                 // sampling and feature batch
  bool clip_denoised = true;           // the reference's sampling default
  // Sampling torso precision: auto (the model's training precision: model.precision when
  // model.use_fp16, else fp32), fp32, fp16 or bf16. The reference samples CIFAR10 and ImageNet32
  // in fp32 (no --use_fp16) although it trains them with --use_fp16 True (paper-spec §3).
  std::string precision = "auto";
  std::string to_uint8 = "truncate";  // truncate (ADM's image_sample.py) | round (ermongroup/ddim's save_image)
  std::string reference;              // reference batch .npz (arr_0 uint8 NHWC, or ADM's VIRTUAL_*.npz)
  std::vector<std::string> metrics = {"fid", "sfid"};  // any of fid, sfid, is, pr
  std::string features = "inception";  // inception (the FID network's weights) | random-inception (toy, not comparable)
  // Epsilon Scaling (base/diffusion/eps_scale.h): one evaluation per entry. YAML: a mapping
  // {b: 1.017, k: 0} or a list of them; default one entry of lambda = 1 (no scaling).
  std::vector<core::EpsScale> eps_scale = {core::EpsScale{}};
  EvalStart start;
  ExposureRequest exposure;

  // The x0 images of chains from data: start.data, else the reference batch.
  const std::string& start_data() const { return start.data.empty() ? reference : start.data; }
  // The x0 images of the exposure tasks: exposure.data, else those the chains from data start
  // from (so that an exposure chain from K starts from the same images), else the reference.
  const std::string& exposure_data() const {
    return !exposure.data.empty() ? exposure.data : start.from == "data" ? start_data() : reference;
  }

  // Throws ConfigError naming "eval.<key>".
  void validate(const std::string& where = "") const;
};

// Every field, for identities and the store.
nlohmann::json to_json(const EvalSpec& e);

// Strictly reads an eval: mapping (file names the source in errors).
EvalSpec read_eval_spec(const YAML::Node& node, const std::string& file);

}  // namespace repro::runner
