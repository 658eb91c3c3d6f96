#pragma once
// An experiment file (experiments/*.yaml): the runs of one study as a matrix over named axes,
// each run a training config (model, diffusion, train, data) plus how to evaluate it (eval).
// Strictly read: unknown keys and wrong types are errors with file:line and key path.
// Format: docs/experiments.md.
#include <yaml-cpp/yaml.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace repro::runner {

struct AxisValue {
  std::string label;  // what reports and --only call it: "cifar10", "adm-ip", "0"; [A-Za-z0-9_.+-]{1,200}
  YAML::Node set;     // config mapping merged into the run's config (model:, train:, eval:, ...)
  std::string where;  // file:line:column
};

struct Axis {
  std::string name;
  std::vector<AxisValue> values;  // declared order
};

// One combination of axis labels (axis -> label) leaving the matrix, with why.
struct Exclusion {
  std::map<std::string, std::string> when;  // every listed axis must match
  std::string reason;
  std::string where;  // file:line:column
};

// An entry of only: the cells whose labels are these (axis -> label); an axis it does not name
// takes every value.
struct Selection {
  std::map<std::string, std::string> labels;  // at least one axis
  std::string where;                          // file:line:column
};

// The slurm: section: sbatch settings for `repro run --executor slurm`, the same as the command
// line's options (docs/runner.md, "Slurm"). Each is absent unless given; an absent one leaves
// SlurmExecutorOptions' default. Not part of any run's or task's identity (where a task runs does
// not change what it computes). Ignored with the local executor.
struct SlurmSettings {
  std::optional<std::string> partition;  // sbatch --partition (--partition); non-empty
  std::optional<std::string> account;    // sbatch --account (--account); non-empty
  // sbatch --time for every job (--time), in any form sbatch takes ("90", "1:30:00",
  // "2-00:00:00"); non-empty. Absent: derived from --timeout.
  std::optional<std::string> time;
  std::optional<int> cpus_per_task;  // sbatch --cpus-per-task (--cpus-per-task); >= 0, 0 = the cluster's
  std::optional<int> gpus;           // the most GPUs one task may ask for (--slurm-gpus); >= 0, 0 = CPU jobs
  // Extra sbatch options, appended as they are (--sbatch-arg, repeatable); each non-empty.
  std::optional<std::vector<std::string>> sbatch_args;
  // At most this many elements of one job array at once (--array-cap); >= 0, 0 = no arrays
  // (--no-arrays).
  std::optional<int> array_cap;

  bool empty() const {
    return !partition && !account && !time && !cpus_per_task && !gpus && !sbatch_args && !array_cap;
  }
};

// The effective settings: each key from `cli` where the command line gave it, else from `file`.
// Key by key: --sbatch-arg replaces the file's whole sbatch_args list.
SlurmSettings merge_slurm_options(const SlurmSettings& file, const SlurmSettings& cli);

// One line for the dry run: "partition=gpu time=1:00:00 sbatch_args=[--qos=high]" (the keys that
// are set, in declaration order), or "cluster defaults" when none is.
std::string describe(const SlurmSettings& s);

struct ExperimentFile {
  std::string path;
  std::string name;  // [A-Za-z0-9_.-]{1,200}; the experiment's key in the store
  std::string description;
  YAML::Node base;                              // the config every run starts from
  std::vector<Axis> axes;                       // product in declared order, the first axis varying slowest
  std::map<std::string, YAML::Node> overrides;  // "axis.label" -> config merged after the axes
  std::vector<Selection> only;                  // cells matching any entry, in product order; empty: every cell
  std::vector<Exclusion> exclude;               // applied to the cells only: kept
  std::vector<std::map<std::string, std::string>> include;  // extra combinations (full label sets)
  YAML::Node report;    // the report section, for the reports library (kept as written)
  SlurmSettings slurm;  // the slurm: section (every key absent without one)
  // Where relative checkpoint.path values are (runs from released checkpoints), as the file
  // writes it; "" = the file's directory. --set checkpoints_dir= and REPRO_CHECKPOINTS_DIR come
  // first (expand.h).
  std::string checkpoints_dir;
  std::string sha256;  // of the file's bytes, for provenance
};

// Reads and checks the file's structure (axes, labels, overrides, only, exclusions and inclusions
// that name known axes and labels; no only: entry inside another). The runs' configs are checked
// by expand(). Throws ConfigError / IoError.
ExperimentFile read_experiment_file(const std::string& path);

}  // namespace repro::runner
