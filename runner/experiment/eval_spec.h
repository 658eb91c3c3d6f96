#pragma once
// How a run is evaluated (the eval: section of a run's config): which checkpoints, how they are
// sampled, how many samples, and which metrics against which reference batch. Plain, torch-free;
// the defaults are the paper's protocol (paper-spec §7).
#include <cstdint>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>
#include <nlohmann/json.hpp>

namespace repro::runner {

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

  // Throws ConfigError naming "eval.<key>".
  void validate(const std::string& where = "") const;
};

// Every field, for identities and the store.
nlohmann::json to_json(const EvalSpec& e);

// Strictly reads an eval: mapping (file names the source in errors).
EvalSpec read_eval_spec(const YAML::Node& node, const std::string& file);

}  // namespace repro::runner
