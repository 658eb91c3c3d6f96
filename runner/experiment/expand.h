#pragma once
// The runs of an experiment: the matrix product in declared order (first axis slowest), kept to
// the cells of only: when the file has it, minus exclusions, plus inclusions, each run's config
// composed as base <- axis values <- overrides <- --set, then strictly read and validated. Every
// run is checked before anything launches.
#include <yaml-cpp/yaml.h>
#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "config/checkpoint_source.h"
#include "config/train_config_yaml.h"
#include "runner/experiment/eval_spec.h"
#include "runner/experiment/experiment_file.h"
#include "runner/experiment/yaml_merge.h"

namespace repro::runner {

struct PlannedRun {
  std::vector<std::pair<std::string, std::string>> labels;  // (axis, label) in axis order
  ConfigTree config;                                        // the composed tree (values keep their file marks)
  config::TrainFile train;                                  // read and validated from it
  std::optional<EvalSpec> eval;                             // absent: train only
  // Present: the run starts from this file instead of training (config/checkpoint_source.h): no
  // train task, and the identity is config::released_identity. train keeps the cell's train:
  // section (its seed seeds the sampler); data.path may be empty.
  std::optional<config::CheckpointSource> checkpoint;
  // config::train_identity of train (its world size the planned one), as its compact dump: what
  // the plan stores and the run id hashes. Text, not an object: a 10,000-run matrix would hold
  // 60 MiB of identities as nlohmann objects, 12 MiB as text.
  std::string identity_json;
  std::string run_id;                // the short hash of identity_json
  nlohmann::json identity() const;   // identity_json parsed
  std::string label_string() const;  // "dataset=cifar10 method=adm-ip" ("(base)" without axes)
};

struct Expansion {
  std::vector<PlannedRun> runs;
  std::vector<std::pair<std::string, std::string>> excluded;  // (labels, reason)
  // With ExpandOptions::lenient: the cells left out because their checkpoint file is missing and
  // no sha256 is pinned (their runs have no name yet), as (labels, checkpoint path).
  std::vector<std::pair<std::string, std::string>> unnamed;
};

// Checkpoint files hashed so far: absolute path -> SHA-256 ("" when missing). One command's
// expansions share one, so that each file is read once.
using FileDigests = std::unordered_map<std::string, std::string>;

struct ExpandOptions {
  // A cell whose checkpoint file is missing and unpinned goes to Expansion::unnamed instead of
  // being a ConfigError: the dry run (which lists it as a failed input) and the whole matrix
  // beside an --only selection.
  bool lenient = false;
  // The value of REPRO_CHECKPOINTS_DIR as the caller read it ("" = unset).
  std::string checkpoints_dir_env;
  FileDigests* digests = nullptr;  // null: the expansion's own
};

// `sets`: "key.path=value" applied to every run, except "checkpoints_dir=DIR", which sets where
// relative checkpoint.path values are (before options.checkpoints_dir_env, then the file's
// checkpoints_dir:, then the file's directory); `only`: "axis=label[,label...]" filters.
// A cell with checkpoint: has its file hashed here (once per path): a missing file without a
// pinned sha256 is a ConfigError (its run has no name; see ExpandOptions::lenient); a missing or
// mismatched file with one is left to the pre-flight (runner/plan/preflight.h).
// Throws ConfigError naming the file, the run's labels and the key for the first bad run, for an
// --only naming an unknown axis or label, and for two cells with the same config. Cells that
// differ only in eval: share one training run (the same run_id).
Expansion expand(const ExperimentFile& file, const std::vector<std::string>& sets = {},
                 const std::vector<std::string>& only = {}, const ExpandOptions& options = {});

}  // namespace repro::runner
