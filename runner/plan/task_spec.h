#pragma once
// The contract between the planner and a task: what each kind of task computes, as typed structs.
// A task's spec is stored (tasks.spec) and sent (the task file's "spec") as the compact JSON of
// one of these, keys in nlohmann's sorted order; the task id hashes that text, so the field names
// and their JSON types are part of every task id (tests/runner/plan_digest_test.cpp pins them).
#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/task_state.h"  // TaskKind

namespace repro::runner {

// A training run to `iterations` steps (resuming the run's checkpoints).
struct TrainTaskSpec {
  std::string config;    // the run's training file as `repro train` reads it (YAML text, train_yaml)
  std::string identity;  // the run's identity JSON (compact; what the run id hashes)
  int64_t iterations = 0;
  // The steps the experiment samples of this run (sorted, unique): what train.keep "evaluated"
  // keeps besides the latest checkpoint. Absent in specs written before it existed: then the
  // trainer deletes nothing.
  std::optional<std::vector<int64_t>> keep_steps;
};

// Samples of one checkpoint of the run with one sampler setting.
struct SampleTaskSpec {
  int batch_size = 0;
  int64_t checkpoint_step = 0;  // the training step of the checkpoint
  bool clip_denoised = true;
  std::string ema;          // "model" or the EMA rate as written in the experiment ("0.9999")
  double eta = 0;           // DDIM's eta; 0 for ancestral sampling
  int64_t num_samples = 0;  // as eval.num_samples (int64: the text of any experiment's value)
  // Torso precision when it is not the model's training precision: "fp32", "fp16" or "bf16";
  // "" = the model's (left out of the text, so that such tasks keep the ids they had before).
  std::string precision;
  std::string sampler;                // "ancestral" | "ddim"
  uint64_t seed = 0;                  // the run's train.seed
  int steps = 0;                      // respaced sampling steps
  std::string to_uint8 = "truncate";  // "truncate" (ADM's; left out of the text) | "round"
  // Epsilon Scaling lambda_i = eps_scale_b + eps_scale_k i (base/diffusion/eps_scale.h); both left
  // out of the text at 1 and 0 (no scaling), so that unscaled tasks keep their ids.
  double eps_scale_b = 1.0;
  double eps_scale_k = 0.0;
  // Table 1's chain started from data: x_K = q_sample(x0, K - 1, eps) of the first num_samples
  // images of `data`, then indices K - 1 ... 0 of the full (unrespaced) process. 0 = from noise,
  // the ordinary sampler (left out of the text, as `data` when empty).
  int start_t = 0;
  std::string data;  // the x0 images (a reference .npz or a prepared dataset), for start_t and exposure
  // > 0: this task measures exposure bias (`repro exposure`) on exposure_num images of `data`
  // instead of drawing samples, and writes exposure/<task id>.json (+ .svg); num_samples equals it.
  // With start_t > 0 (chain mode) its chains start at x_K. 0: left out of the text.
  int64_t exposure_num = 0;
  std::string exposure_mode = "chain";  // "chain" | "step" (tasks/exposure_run.h); left out when chain
  // A run from a checkpoint file (config/checkpoint_source.h): the SHA-256 the file must have; the
  // task reads the file the task file names instead of checkpoint_file(). "" (left out of the
  // text): a checkpoint of the run's own training.
  std::string checkpoint_sha256;
};

// The UNet forward passes a sample task runs: images x chain length (start_t when the chain starts
// from data, else steps); an exposure task's per step 2 (chain: eps on the chain's x_t and on
// q(x_t | x0)) or 3 (step: one more for the single step from q(x_t+1 | x0)). What the dry run's
// costs and the measured speeds (run_history.h) count.
int64_t sample_forwards(const SampleTaskSpec& s);

// Metrics of the samples one sample task wrote.
struct EvalTaskSpec {
  int batch_size = 0;
  std::string features;              // the feature network ("inception", "random-inception")
  std::vector<std::string> metrics;  // "is", "fid", "sfid", "pr", ...
  std::string reference;             // the reference batch
  std::string samples_of;            // the sample task id
};

// One to_json/from_json per spec (nlohmann's ADL hooks). from_json throws nlohmann's errors;
// parse_*_spec below check each member instead and throw ConfigError naming the file and key.
void to_json(nlohmann::json& j, const TrainTaskSpec& s);
void from_json(const nlohmann::json& j, TrainTaskSpec& s);
void to_json(nlohmann::json& j, const SampleTaskSpec& s);
void from_json(const nlohmann::json& j, SampleTaskSpec& s);
void to_json(nlohmann::json& j, const EvalTaskSpec& s);
void from_json(const nlohmann::json& j, EvalTaskSpec& s);

// The spec as stored: nlohmann::json(s).dump(), written without building the JSON tree (a
// paper-sized plan holds ~100k specs; bench_expand). Equal to the dump for every value (tested).
std::string spec_text(const TrainTaskSpec& s);
std::string spec_text(const SampleTaskSpec& s);
std::string spec_text(const EvalTaskSpec& s);

// The typed spec from its stored text or the task file's "spec" member. Throws ConfigError naming
// `where` (a file, or "task <id>") and the missing or mistyped key ("spec.seed"): integers must be
// integers that fit the member, a sample spec's ema "model" or a number, its precision (may be
// missing) fp32, fp16 or bf16, its to_uint8 (may be missing) truncate or round; its optional
// eps_scale_b (default 1) finite and > 0, eps_scale_k (0) finite, start_t (0) and exposure_num (0)
// >= 0, exposure_mode ("chain") chain or step, data ("") present where start_t or exposure_num is
// > 0, checkpoint_sha256 ("") 64 lowercase hex digits when present. Other keys are ignored.
TrainTaskSpec parse_train_spec(const nlohmann::json& spec, const std::string& where);
SampleTaskSpec parse_sample_spec(const nlohmann::json& spec, const std::string& where);
EvalTaskSpec parse_eval_spec(const nlohmann::json& spec, const std::string& where);

// The checkpoint a sample task reads, relative to the run directory: "checkpoints/model050000.pt"
// or "checkpoints/ema_0.9999_050000.pt". The one place this rule lives (planner, sample task,
// early start).
std::string checkpoint_file(const SampleTaskSpec& s);

}  // namespace repro::runner
