#include "runner/experiment/experiment_file.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include "base/util/errors.h"
#include "base/util/file_io.h"
#include "base/util/sha256.h"
#include "base/util/strings.h"
#include "base/util/utf8.h"
#include "config/strict_yaml.h"

namespace repro::runner {

namespace {

using config::StrictMap;

// The sections a run's config has; an axis value or override may set any of them.
const std::set<std::string> kSections = {"model", "diffusion", "train", "data", "eval", "checkpoint"};

// "file:line:column" of a node (1-based, as editors count).
std::string line(const std::string& file, const YAML::Node& n) {
  const auto m = n.Mark();
  if (m.line < 0) return file + ":?";
  return file + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
}

[[noreturn]] void fail(const std::string& file, const YAML::Node& n, const std::string& key, const std::string& what) {
  throw ConfigError(line(file, n), key, what);
}

// The longest experiment name or axis label: they become store keys, run ids and directory names.
constexpr size_t kMaxNameLength = 200;

// What is wrong with `text` as a name (letters, digits, `_ . -` and the characters in `extra`),
// or "" when nothing is. A loop, not std::regex: libstdc++'s matcher recurses once per character,
// and a 50,000-character name overflowed the stack.
std::string name_problem(const std::string& text, const std::string& extra) {
  if (text.size() > kMaxNameLength)
    return "at most " + std::to_string(kMaxNameLength) + " characters, got " + std::to_string(text.size()) + " ('" +
           text.substr(0, 40) + "...')";
  bool valid = !text.empty();
  for (const char c : text)
    valid &= (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
             c == '-' || extra.find(c) != std::string::npos;
  if (valid) return "";
  return "letters, digits and _ . " + (extra.empty() ? "" : extra + " ") + "- only, got '" + text + "'";
}

// An axis name is an identifier ([A-Za-z_][A-Za-z0-9_]*): it becomes a report column and
// dimension, a key of the run's axes, the `axis` of overrides' axis.label and --only axis=label.
bool is_identifier(const std::string& name) {
  if (name.empty() || name.size() > kMaxNameLength || (name[0] >= '0' && name[0] <= '9')) return false;
  for (const char c : name)
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  return true;
}

// A config fragment: a mapping whose keys are run-config sections.
void check_sections(const std::string& file, const YAML::Node& n, const std::string& key) {
  if (!n || n.IsNull()) return;
  if (!n.IsMap())
    fail(file, n, key, "expected a mapping of config sections (model, diffusion, train, data, eval, checkpoint)");
  for (const auto& kv : n) {
    const std::string s = kv.first.Scalar();
    if (!kSections.count(s))
      fail(file, kv.first, key + "." + s,
           "unknown config section; valid: checkpoint, data, diffusion, eval, model, train");
  }
}

std::string scalar(const std::string& file, const YAML::Node& n, const std::string& key) {
  if (!n.IsScalar()) fail(file, n, key, "expected a scalar");
  return n.Scalar();
}

// A fragment setting one dotted key ("train.seed") to `value`.
YAML::Node fragment_for(const std::string& dotted, const YAML::Node& value) {
  YAML::Node root(YAML::NodeType::Map), cur = root;
  size_t start = 0;
  while (true) {
    const auto dot = dotted.find('.', start);
    const std::string k = dotted.substr(start, dot - start);
    if (dot == std::string::npos) {
      cur[k] = value;
      break;
    }
    YAML::Node next(YAML::NodeType::Map);
    cur[k] = next;
    cur.reset(next);  // rebind the handle: operator= would rewrite the node cur shares with root
    start = dot + 1;
  }
  return root;
}

Axis read_axis(const std::string& file, const std::string& name, const YAML::Node& n) {
  const std::string key = "matrix." + name;
  Axis axis{name, {}};
  YAML::Node values = n;
  std::string target;  // key: the dotted config key scalar values go to
  if (n.IsMap()) {
    StrictMap m(n, file, key);
    m.get("key", target);
    values.reset(m.raw("values"));
    m.finish();
    if (target.empty() || !kSections.count(target.substr(0, target.find('.'))) || target.find('.') == std::string::npos)
      fail(file, n, key + ".key", "expected a config key such as train.seed, got '" + target + "'");
    if (!values) fail(file, n, key + ".values", "missing: the list of values");
  }
  if (!values.IsSequence() || values.size() == 0) fail(file, values, key, "expected a non-empty list of values");
  std::set<std::string> seen;
  for (size_t i = 0; i < values.size(); ++i) {
    const YAML::Node v = values[i];
    const std::string vkey = key + "[" + std::to_string(i) + "]";
    AxisValue av;
    av.where = line(file, v);
    if (v.IsMap()) {
      if (!target.empty()) fail(file, v, vkey, "an axis with key: takes scalar values");
      if (!v["name"]) fail(file, v, vkey + ".name", "missing: the value's label");
      av.label = scalar(file, v["name"], vkey + ".name");
      YAML::Node set(YAML::NodeType::Map);
      for (const auto& kv : v) {
        const std::string s = kv.first.Scalar();
        if (s == "name") continue;
        if (!kSections.count(s))
          fail(file, kv.first, vkey + "." + s,
               "unknown key; valid: name, checkpoint, data, diffusion, eval, model, train");
        set[s] = kv.second;
      }
      av.set = set;
    } else {
      av.label = scalar(file, v, vkey);
      if (!target.empty()) av.set = fragment_for(target, v);
    }
    if (const std::string problem = name_problem(av.label, "+"); !problem.empty())
      fail(file, v, vkey, "a label may hold " + problem);
    if (!seen.insert(av.label).second) fail(file, v, vkey, "duplicate label '" + av.label + "' on axis " + name);
    axis.values.push_back(av);
  }
  return axis;
}

// {axis: label, ...} naming known axes and labels.
std::map<std::string, std::string> read_combo(const std::string& file, const YAML::Node& n, const std::string& key,
                                              const std::vector<Axis>& axes, bool complete) {
  if (!n.IsMap()) fail(file, n, key, "expected a mapping of axis: label");
  std::map<std::string, std::string> combo;
  for (const auto& kv : n) {
    const std::string a = kv.first.Scalar();
    const Axis* axis = nullptr;
    for (const auto& x : axes) axis = x.name == a ? &x : axis;
    if (!axis) {
      const std::string names = join(axes, ", ", [](const Axis& x) { return x.name; });
      fail(file, kv.first, key + "." + a, "no axis named '" + a + "' in matrix (axes: " + names + ")");
    }
    const std::string label = scalar(file, kv.second, key + "." + a);
    bool found = false;
    for (const auto& v : axis->values) found |= v.label == label;
    if (!found) {
      const std::string labels = join(axis->values, ", ", [](const AxisValue& v) { return v.label; });
      fail(file, kv.second, key + "." + a, "axis " + a + " has no value '" + label + "' (values: " + labels + ")");
    }
    combo[a] = label;
  }
  if (complete && combo.size() != axes.size())
    fail(file, n, key, "an include names a label for every axis (" + std::to_string(axes.size()) + " axes)");
  return combo;
}

// What a value is, for "expected X, got Y".
std::string got(const YAML::Node& n) {
  if (n.IsScalar()) return "'" + n.Scalar() + "'";
  return n.IsSequence() ? "a list" : n.IsMap() ? "a mapping" : "null";
}

// slurm: {partition, account, time, cpus_per_task, gpus, sbatch_args, array_cap}, each optional.
SlurmSettings read_slurm(const std::string& file, const YAML::Node& n) {
  SlurmSettings s;
  if (!n || n.IsNull()) return s;
  StrictMap m(n, file, "slurm");  // a mapping, else an error
  auto text = [&](const std::string& key, const std::string& what) -> std::optional<std::string> {
    const YAML::Node v = m.raw(key);
    if (!v) return std::nullopt;
    if (!v.IsScalar() || v.Scalar().empty()) fail(file, v, "slurm." + key, "expected " + what + ", got " + got(v));
    return v.Scalar();
  };
  auto count = [&](const std::string& key, const std::string& what) -> std::optional<int> {
    const YAML::Node v = m.raw(key);
    if (!v) return std::nullopt;
    int out = -1;
    size_t used = 0;
    try {
      if (v.IsScalar()) out = std::stoi(v.Scalar(), &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (!v.IsScalar() || used == 0 || used != v.Scalar().size() || out < 0)
      fail(file, v, "slurm." + key, "expected " + what + ", got " + got(v));
    return out;
  };
  s.partition = text("partition", "a partition name");
  s.account = text("account", "an account name");
  s.time = text("time", "a Slurm time limit such as 90, 1:30:00 or 2-00:00:00");
  s.cpus_per_task = count("cpus_per_task", "an integer >= 0 (0: the cluster's default)");
  s.gpus = count("gpus", "an integer >= 0 (the most GPUs one task may ask for; 0: CPU jobs)");
  s.array_cap = count("array_cap", "an integer >= 0 (elements of an array at once; 0: no arrays)");
  const YAML::Node args = m.raw("sbatch_args");
  m.finish();
  if (args) {
    if (!args.IsSequence())
      fail(file, args, "slurm.sbatch_args", "expected a list of sbatch options such as [--qos=high], got " + got(args));
    s.sbatch_args.emplace();
    for (size_t i = 0; i < args.size(); ++i) {
      const YAML::Node a = args[i];
      if (!a.IsScalar() || a.Scalar().empty())
        fail(file, a, "slurm.sbatch_args[" + std::to_string(i) + "]",
             "expected an sbatch option such as --qos=high, got " + got(a));
      s.sbatch_args->push_back(a.Scalar());
    }
  }
  return s;
}

// matrix: {axis: values, ...}, then seeds: [0, 1] as the axis `seed` over train.seed, last.
void read_axes(const std::string& path, StrictMap& top, ExperimentFile& f) {
  YAML::Node matrix = top.raw("matrix");
  if (matrix && !matrix.IsNull()) {
    if (!matrix.IsMap()) fail(path, matrix, "matrix", "expected a mapping of axis name: values");
    for (const auto& kv : matrix) {
      const std::string name = kv.first.IsScalar() ? kv.first.Scalar() : "";
      if (!is_identifier(name))
        fail(path, kv.first, "matrix." + name.substr(0, 40),
             "an axis name must be an identifier (letters, digits and _, not starting with a digit; at most " +
                 std::to_string(kMaxNameLength) + " characters), got '" + name.substr(0, 40) +
                 (name.size() > 40 ? "...'" : "'"));
      f.axes.push_back(read_axis(path, name, kv.second));
    }
  }
  YAML::Node seeds = top.raw("seeds");
  if (seeds) {
    for (const auto& a : f.axes)
      if (a.name == "seed") fail(path, seeds, "seeds", "both seeds: and a matrix axis named seed");
    YAML::Node axis(YAML::NodeType::Map);
    axis["key"] = "train.seed";
    axis["values"] = seeds;
    f.axes.push_back(read_axis(path, "seed", axis));
  }
}

// overrides: {axis.label: config}, naming known axes and labels.
void read_overrides(const std::string& path, StrictMap& top, ExperimentFile& f) {
  YAML::Node overrides = top.raw("overrides");
  if (!overrides || overrides.IsNull()) return;
  if (!overrides.IsMap()) fail(path, overrides, "overrides", "expected a mapping of axis.label: config");
  for (const auto& kv : overrides) {
    const std::string k = kv.first.Scalar();
    const auto dot = k.find('.');
    YAML::Node combo(YAML::NodeType::Map);
    if (dot == std::string::npos) fail(path, kv.first, "overrides." + k, "expected axis.label, e.g. dataset.cifar10");
    combo[k.substr(0, dot)] = k.substr(dot + 1);
    read_combo(path, combo, "overrides." + k, f.axes, false);
    check_sections(path, kv.second, "overrides." + k);
    f.overrides[k] = kv.second;
  }
}

// Every value must set something, directly or through an override.
void check_values_set_something(const ExperimentFile& f) {
  for (const auto& a : f.axes)
    for (const auto& v : a.values)
      if ((!v.set || v.set.size() == 0) && !f.overrides.count(a.name + "." + v.label))
        throw ConfigError(v.where, "matrix." + a.name,
                          "value '" + v.label +
                              "' changes nothing: give the axis a key:, the value a mapping, or "
                              "add overrides." +
                              a.name + "." + v.label);
}

// exclude: [{when: {axis: label, ...}, reason: ...}, ...].
void read_exclusions(const std::string& path, StrictMap& top, ExperimentFile& f) {
  YAML::Node exclude = top.raw("exclude");
  if (!exclude || exclude.IsNull()) return;
  if (!exclude.IsSequence()) fail(path, exclude, "exclude", "expected a list of {when: {...}, reason: ...}");
  for (size_t i = 0; i < exclude.size(); ++i) {
    const std::string key = "exclude[" + std::to_string(i) + "]";
    StrictMap m(exclude[i], path, key);
    Exclusion e;
    e.where = line(path, exclude[i]);
    m.get("reason", e.reason);
    YAML::Node when = m.raw("when");
    m.finish();
    if (!when) fail(path, exclude[i], key + ".when", "missing: the axis labels to exclude");
    if (e.reason.empty()) fail(path, exclude[i], key + ".reason", "missing: say why these runs are left out");
    e.when = read_combo(path, when, key + ".when", f.axes, false);
    f.exclude.push_back(e);
  }
}

// An entry inside another (naming the same labels and more) selects nothing new: a mistake, as a
// duplicate is.
void check_not_nested(const std::string& path, const YAML::Node& n, const std::string& key, const Selection& s,
                      const std::vector<Selection>& earlier) {
  for (size_t j = 0; j < earlier.size(); ++j) {
    const auto& a = earlier[j].labels;
    const auto& b = s.labels;
    const bool a_in_b = std::includes(b.begin(), b.end(), a.begin(), a.end());
    const bool b_in_a = std::includes(a.begin(), a.end(), b.begin(), b.end());
    if (a_in_b || b_in_a)
      fail(path, n, key,
           a_in_b && b_in_a ? "the same cells as only[" + std::to_string(j) + "]"
           : a_in_b         ? "inside only[" + std::to_string(j) + "], which already selects every cell it names"
                            : "holds only[" + std::to_string(j) + "], whose cells it already selects");
  }
}

// only: [{axis: label, ...}, ...]: the cells matching any entry.
void read_only(const std::string& path, StrictMap& top, ExperimentFile& f) {
  YAML::Node only = top.raw("only");
  if (!only) return;
  if (!only.IsSequence() || only.size() == 0)
    fail(path, only, "only", "expected a non-empty list of {axis: label, ...} (the cells to keep)");
  for (size_t i = 0; i < only.size(); ++i) {
    const std::string key = "only[" + std::to_string(i) + "]";
    Selection s;
    s.where = line(path, only[i]);
    s.labels = read_combo(path, only[i], key, f.axes, false);
    if (s.labels.empty())
      fail(path, only[i], key, "expected at least one axis: label (an empty entry would select every cell)");
    check_not_nested(path, only[i], key, s, f.only);
    f.only.push_back(s);
  }
}

// include: [{axis: label, ...}, ...], each naming a label for every axis.
void read_includes(const std::string& path, StrictMap& top, ExperimentFile& f) {
  YAML::Node include = top.raw("include");
  if (!include || include.IsNull()) return;
  if (!include.IsSequence()) fail(path, include, "include", "expected a list of {axis: label, ...}");
  for (size_t i = 0; i < include.size(); ++i)
    f.include.push_back(read_combo(path, include[i], "include[" + std::to_string(i) + "]", f.axes, true));
}

}  // namespace

SlurmSettings merge_slurm_options(const SlurmSettings& file, const SlurmSettings& cli) {
  SlurmSettings s;
  s.partition = cli.partition ? cli.partition : file.partition;
  s.account = cli.account ? cli.account : file.account;
  s.time = cli.time ? cli.time : file.time;
  s.cpus_per_task = cli.cpus_per_task ? cli.cpus_per_task : file.cpus_per_task;
  s.gpus = cli.gpus ? cli.gpus : file.gpus;
  s.sbatch_args = cli.sbatch_args ? cli.sbatch_args : file.sbatch_args;
  s.array_cap = cli.array_cap ? cli.array_cap : file.array_cap;
  return s;
}

std::string describe(const SlurmSettings& s) {
  std::string out;
  auto add = [&out](const std::string& kv) { out += (out.empty() ? "" : " ") + kv; };
  if (s.partition) add("partition=" + *s.partition);
  if (s.account) add("account=" + *s.account);
  if (s.time) add("time=" + *s.time);
  if (s.cpus_per_task) add("cpus_per_task=" + std::to_string(*s.cpus_per_task));
  if (s.gpus) add("gpus=" + std::to_string(*s.gpus));
  if (s.sbatch_args) {
    std::string list;
    for (const auto& a : *s.sbatch_args) list += (list.empty() ? "" : " ") + a;
    add("sbatch_args=[" + list + "]");
  }
  if (s.array_cap) add("array_cap=" + std::to_string(*s.array_cap));
  return out.empty() ? "cluster defaults" : out;
}

ExperimentFile read_experiment_file(const std::string& path) {
  // Relative paths in the file (data.path, eval.reference) resolve under its directory, and the
  // store and the runs' task files keep paths in JSON, which is UTF-8.
  const std::string absolute = std::filesystem::absolute(path).string();
  if (const size_t bad = invalid_utf8_offset(absolute); bad != std::string::npos)
    throw ConfigError(path, "",
                      "the file's path (" + std::to_string(absolute.size()) +
                          " bytes, absolute) is not UTF-8 at byte " + std::to_string(bad) +
                          ": rename the directory or the file");
  ExperimentFile f;
  f.path = path;
  f.sha256 = sha256_hex(read_file(path));
  YAML::Node root = config::load_yaml_file(path);
  StrictMap top(root, path, "");
  top.get("name", f.name);
  top.get("description", f.description);
  if (f.name.empty()) throw ConfigError(path, "name", "missing: the experiment's name");
  if (const std::string problem = name_problem(f.name, ""); !problem.empty())
    top.fail("name", "an experiment name may hold " + problem);
  f.base = top.raw("base");
  check_sections(path, f.base, "base");
  read_axes(path, top, f);
  read_overrides(path, top, f);
  check_values_set_something(f);
  read_exclusions(path, top, f);
  read_only(path, top, f);
  read_includes(path, top, f);
  f.report = top.raw("report");
  top.get("checkpoints_dir", f.checkpoints_dir);
  f.slurm = read_slurm(path, top.raw("slurm"));
  top.finish();
  return f;
}

}  // namespace repro::runner
