#pragma once
// An experiment file (experiments/*.yaml): the runs of one study as a matrix over named axes,
// each run a training config (model, diffusion, train, data) plus how to evaluate it (eval).
// Strictly read: unknown keys and wrong types are errors with file:line and key path.
// Format: docs/experiments.md.
#include <yaml-cpp/yaml.h>

#include <map>
#include <string>
#include <vector>

namespace repro::runner {

struct AxisValue {
  std::string label;  // what reports and --only call it: "cifar10", "adm-ip", "0"
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

struct ExperimentFile {
  std::string path;
  std::string name;         // [A-Za-z0-9_.-]+; the experiment's key in the store
  std::string description;
  YAML::Node base;          // the config every run starts from
  std::vector<Axis> axes;   // product in declared order, the first axis varying slowest
  std::map<std::string, YAML::Node> overrides;  // "axis.label" -> config merged after the axes
  std::vector<Selection> only;     // cells matching any entry, in product order; empty: every cell
  std::vector<Exclusion> exclude;  // applied to the cells only: kept
  std::vector<std::map<std::string, std::string>> include;  // extra combinations (full label sets)
  YAML::Node report;        // the report section, for the reports library (kept as written)
  std::string sha256;       // of the file's bytes, for provenance
};

// Reads and checks the file's structure (axes, labels, overrides, only, exclusions and inclusions
// that name known axes and labels; no only: entry inside another). The runs' configs are checked
// by expand(). Throws ConfigError / IoError.
ExperimentFile read_experiment_file(const std::string& path);

}  // namespace repro::runner
