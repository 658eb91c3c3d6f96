#include "runner/experiment/expand.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <unordered_map>

#include "base/util/errors.h"
#include "base/util/sha256.h"
#include "base/util/strings.h"
#include "config/strict_yaml.h"
#include "config/train_identity.h"
#include "runner/experiment/yaml_merge.h"

namespace repro::runner {

namespace {

using Labels = std::vector<std::pair<std::string, std::string>>;

// "axis=label axis=label", or "(base)" for the run without axes.
std::string label_text(const Labels& labels) {
  if (labels.empty()) return "(base)";
  return join(labels, " ", [](const auto& al) { return al.first + "=" + al.second; });
}

// "axis=l1,l2" -> (axis, {l1, l2}), checked against the file's axes.
std::pair<std::string, std::set<std::string>> parse_only(const ExperimentFile& f, const std::string& text) {
  const auto eq = text.find('=');
  if (eq == std::string::npos) throw ConfigError("--only", text, "expected axis=label[,label...]");
  const std::string axis = text.substr(0, eq);
  const Axis* a = nullptr;
  for (const auto& x : f.axes) a = x.name == axis ? &x : a;
  if (!a) {
    const std::string names = join(f.axes, ", ", [](const Axis& x) { return x.name; });
    throw ConfigError("--only", text, "no axis '" + axis + "' in " + f.path + " (axes: " + names + ")");
  }
  std::set<std::string> labels;
  for (const std::string& label : split(std::string_view(text).substr(eq + 1), ',')) {
    bool known = false;
    for (const auto& v : a->values) known |= v.label == label;
    if (!known) throw ConfigError("--only", text, "axis " + axis + " has no value '" + label + "'");
    labels.insert(label);
  }
  return {axis, labels};
}

// The file's config fragments as light trees, made once per expansion: every run shares them.
struct Fragments {
  ConfigTree base;
  std::vector<std::vector<ConfigTree>> values;  // [axis][value]
  std::map<std::string, ConfigTree> overrides;
  std::vector<std::pair<std::vector<std::string>, ConfigTree>> sets;  // (key path, value)
  std::string base_dir;         // the file's directory, absolute, with a trailing slash
  std::string checkpoints_dir;  // where relative checkpoint.path values are, absolute
};

// The eval: sections read so far, by node: the runs of a matrix share a few (merging shares
// every subtree it leaves unchanged). The tree is held so that its address stays its own.
struct ReadEval {
  ConfigTree node;
  EvalSpec spec;     // reference made absolute
  std::string json;  // to_json(spec).dump()
};
using EvalCache = std::unordered_map<const ConfigNode*, ReadEval>;

// The training-config sections read so far, by node, each as its strict reader left it (not yet
// validated), with the compact dump of its member of the run's identity once a run has needed it:
// most runs of a matrix share most of their sections. A section that does not read is not kept
// (the run's whole config is read again for its error). Each entry holds its tree so that its
// address stays its own.
template <typename T>
struct ReadSection {
  ConfigTree node;
  T value;
  std::string identity;  // empty until made
};
template <typename T>
using ReadSections = std::unordered_map<const ConfigNode*, ReadSection<T>>;
struct SectionCache {
  ReadSections<core::UNetConfig> model;
  ReadSections<core::DiffusionConfig> diffusion;
  ReadSections<core::TrainConfig> train;
  ReadSections<core::DataConfig> data;
  // The sections' values as yaml-cpp nodes, by node, for the sections not read before: runs that
  // differ in a section still share most of its values (an axis value is one node in every run).
  std::unordered_map<const ConfigNode*, std::pair<ConfigTree, YAML::Node>> values;
  FileDigests* digests = nullptr;  // checkpoint files hashed so far: cells share files
};

// The section `name` of a run's config (nullptr: absent), read by `read` as parse_train_yaml
// reads to_yaml(tree)'s, once per distinct node. Throws ConfigError (not located) when it does not
// read, and for a mapping with a key twice (to_yaml keeps the last value, a StrictMap the first).
template <typename T, typename Read>
ReadSection<T>& read_section(ReadSections<T>& cache, SectionCache& all, const ConfigTree* node, const std::string& name,
                             Read read) {
  const ConfigNode* key = node ? node->get() : nullptr;
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  std::vector<std::pair<std::string, YAML::Node>> entries;
  if (key && key->type != YAML::NodeType::Map && key->type != YAML::NodeType::Null)
    throw ConfigError(name, name, "expected a mapping");
  if (key) {
    entries.reserve(key->map.size());
    for (const auto& [k, v] : key->map) {
      for (const auto& e : entries)
        if (e.first == k) throw ConfigError(name, name + "." + k, "a key twice");
      auto value = all.values.find(v.get());
      if (value == all.values.end()) value = all.values.emplace(v.get(), std::make_pair(v, to_yaml(v))).first;
      entries.emplace_back(k, value->second.second);
    }
  }
  config::StrictMap m = key ? config::StrictMap(std::move(entries), name, name)
                            : config::StrictMap(YAML::Node(YAML::NodeType::Undefined), name, name);
  ReadSection<T> out{node ? *node : ConfigTree(), T{}, {}};
  read(m, out.value);
  m.finish();
  return cache.emplace(key, std::move(out)).first->second;
}

struct ReadTrain {
  config::TrainFile file;
  std::string identity_json;  // config::train_identity(file, file.train.planned_world_size()).dump()
  std::string run_id;         // its short hash
};

// parse_train_yaml(to_yaml(tree)) and, for a run that trains, its run id, from the sections read
// before where the tree shares them; nullopt where the tree does not read or validate
// (parse_train_yaml then says why, and where). A run from a checkpoint file is named otherwise
// (config::released_identity) and may have no data.
std::optional<ReadTrain> read_train_sections(const ConfigTree& tree, const std::string& base_dir, SectionCache& cache,
                                             bool trains) {
  if (!tree || tree->type != YAML::NodeType::Map) return std::nullopt;
  const ConfigTree* sections[4] = {nullptr, nullptr, nullptr, nullptr};  // model, diffusion, train, data
  static const char* const kNames[4] = {"model", "diffusion", "train", "data"};
  for (const auto& [key, value] : tree->map) {
    int i = 0;
    while (i < 4 && key != kNames[i]) ++i;
    if (i == 4 || sections[i]) return std::nullopt;  // an unknown key, or a key twice (to_yaml keeps the last)
    sections[i] = &value;
  }
  if (!sections[0]) return std::nullopt;  // model: is required
  try {
    auto& model = read_section(cache.model, cache, sections[0], "model", config::read_unet_config);
    auto& diffusion = read_section(cache.diffusion, cache, sections[1], "diffusion", config::read_diffusion_config);
    auto& train = read_section(cache.train, cache, sections[2], "train", config::read_train_config);
    auto& data = read_section(cache.data, cache, sections[3], "data", config::read_data_config);
    ReadTrain out{{model.value, diffusion.value, train.value, data.value}, {}, {}};
    config::finish_train_file(out.file, base_dir);
    if (!trains) return out;
    // A member of the identity follows from its section alone (data's from the path joined to
    // base_dir, the same for the whole expansion).
    const auto& f = out.file;
    if (model.identity.empty()) model.identity = config::model_identity(f.model).dump();
    if (diffusion.identity.empty()) diffusion.identity = config::diffusion_identity(f.diffusion).dump();
    if (train.identity.empty())
      train.identity = config::train_section_identity(f.train, f.train.planned_world_size()).dump();
    if (data.identity.empty()) data.identity = config::data_identity(f.data).dump();
    out.identity_json = config::identity_dump(data.identity, diffusion.identity, model.identity, train.identity);
    out.run_id = config::run_id_of_dump(out.identity_json);
    return out;
  } catch (const ConfigError&) {
    return std::nullopt;
  }
}

// Where relative checkpoint.path values are, absolute: --set checkpoints_dir=, else the variable
// (both relative to the working directory), else the file's checkpoints_dir: (relative to it).
std::string checkpoints_dir_of(const ExperimentFile& f, const std::vector<std::string>& sets, const std::string& env,
                               const std::string& base_dir) {
  namespace fs = std::filesystem;
  std::string given;
  for (const auto& s : sets)
    if (s.rfind("checkpoints_dir=", 0) == 0) given = s;
  if (given == "checkpoints_dir=") throw ConfigError("--set", given, "expected checkpoints_dir=DIR, a folder");
  if (!given.empty()) return fs::absolute(given.substr(given.find('=') + 1)).lexically_normal().string();
  if (!env.empty()) return fs::absolute(env).lexically_normal().string();
  return (fs::path(base_dir) / f.checkpoints_dir).lexically_normal().string();
}

Fragments fragments_of(const ExperimentFile& f, const std::vector<std::string>& sets, const std::string& env) {
  Fragments out;
  out.base = to_tree(f.base);
  for (const auto& axis : f.axes) {
    out.values.emplace_back();
    for (const auto& v : axis.values) out.values.back().push_back(to_tree(v.set));
  }
  for (const auto& [key, node] : f.overrides) out.overrides[key] = to_tree(node);
  for (const auto& s : sets) {
    if (s.rfind("checkpoints_dir=", 0) == 0) continue;  // not a config key: checkpoints_dir_of
    YAML::Node scratch(YAML::NodeType::Map);
    config::apply_override(scratch, s);  // the --set checks and errors of `repro train`
    const auto eq = s.find('=');
    const std::string path = s.substr(0, eq);
    out.sets.emplace_back(config::split_key_path(path),
                          to_tree(config::load_yaml_string(s.substr(eq + 1), "--set " + path)));
  }
  // Relative paths in the file are relative to it; the runs see them absolute (tasks run elsewhere).
  out.base_dir = std::filesystem::absolute(f.path).parent_path().lexically_normal().string() + "/";
  out.checkpoints_dir = checkpoints_dir_of(f, sets, env, out.base_dir);
  return out;
}

// What eval: asks of the run's diffusion: each chain start K within it (the full process when
// started from data), and lambda_i > 0 over every chain the cell samples.
void check_chains(const EvalSpec& e, int diffusion_steps, const std::string& where) {
  std::vector<int> lengths = e.sampling_steps;  // respaced chains from noise
  if (lengths.empty()) lengths.push_back(diffusion_steps);
  if (e.start.from == "data") {
    if (!e.sampling_steps.empty() && e.sampling_steps.front() != diffusion_steps)
      throw ConfigError(where, "eval.sampling_steps",
                        "with eval.start from data the chain runs on the full process: leave sampling_steps out or "
                        "give [" +
                            std::to_string(diffusion_steps) + "] (diffusion.diffusion_steps), not " +
                            std::to_string(e.sampling_steps.front()));
    for (int k : e.start.t)
      if (k > diffusion_steps)
        throw ConfigError(where, "eval.start.t",
                          "K = " + std::to_string(k) + " is beyond diffusion.diffusion_steps (" +
                              std::to_string(diffusion_steps) + ")");
    lengths = {*std::max_element(e.start.t.begin(), e.start.t.end())};
  }
  for (const auto& s : e.eps_scale)
    for (int n : lengths) core::validate_eps_scale(s, n, where, "eval.eps_scale");
}

// check_chains, its error located in the run's config.
void check_chains_at(const EvalSpec& e, int diffusion_steps, const ConfigTree& cfg, const std::string& where) {
  try {
    check_chains(e, diffusion_steps, where);
  } catch (const ConfigError& err) {
    throw relocated(err, cfg, where);
  }
}

// The run's eval: section, read once per distinct node (its paths made absolute).
const ReadEval& read_eval(const ConfigTree& cfg, const ConfigTree& eval_node, EvalCache& evals,
                          const std::string& where, const std::string& base_dir) {
  auto it = evals.find(eval_node.get());
  if (it != evals.end()) return it->second;
  ReadEval read{eval_node, {}, {}};
  try {
    read.spec = read_eval_spec(to_yaml(eval_node), where);
  } catch (const ConfigError& e) {
    throw relocated(e, cfg, where);
  }
  for (std::string* path : {&read.spec.reference, &read.spec.start.data, &read.spec.exposure.data})
    if (!path->empty() && (*path)[0] != '/') *path = base_dir + *path;
  read.json = to_json(read.spec).dump();
  return evals.emplace(eval_node.get(), std::move(read)).first->second;
}

// The cell's checkpoint: (nullopt: none, the run trains), its file hashed once per path.
std::optional<config::CheckpointSource> read_checkpoint(const ConfigTree& cfg, const Fragments& frag,
                                                        SectionCache& cache, const std::string& where) {
  const ConfigTree* node = cfg->find("checkpoint");
  if (!node || !*node || (*node)->type == YAML::NodeType::Null) return std::nullopt;
  config::CheckpointSource src;
  try {
    config::StrictMap m(to_yaml(*node), where, "checkpoint");
    src = config::read_checkpoint_source(m, frag.checkpoints_dir);
  } catch (const ConfigError& e) {
    throw relocated(e, cfg, where);
  }
  auto it = cache.digests->find(src.path);
  if (it == cache.digests->end()) {
    std::error_code ec;
    const bool there = std::filesystem::is_regular_file(src.path, ec);
    it = cache.digests->emplace(src.path, there ? sha256_file_hex(src.path) : "").first;
  }
  src.actual_sha256 = it->second;
  return src;
}

ConfigError unnamed_checkpoint(const config::CheckpointSource& c, const std::string& where) {
  return ConfigError(where, "checkpoint.path",
                     c.path +
                         ": no such file, and checkpoint.sha256 is not given, so the run has no name yet (a run "
                         "from a checkpoint is named by its SHA-256): " +
                         config::kCheckpointsDirHint + "; or pin checkpoint.sha256");
}

// What eval: asks of a run from a checkpoint: that one file, no other step.
void check_eval_against_checkpoint(const EvalSpec& e, const config::CheckpointSource& c, const ConfigTree& cfg,
                                   const std::string& where) {
  for (auto k : e.at_iterations)
    if (k != c.iteration)
      throw ConfigError(where, "eval.at_iterations",
                        "a run from a checkpoint has one step, checkpoint.iteration (" + std::to_string(c.iteration) +
                            "), not " + std::to_string(k) + ": leave eval.at_iterations out");
}

// What eval: asks of the run's training: checkpoints it saves, an EMA rate it keeps, chains its
// diffusion has.
void check_eval_against_run(const EvalSpec& e, const config::TrainFile& train, const ConfigTree& cfg,
                            const std::string& where) {
  for (auto k : e.at_iterations)
    if (k > train.train.iterations)
      throw ConfigError(
          where, "eval.at_iterations",
          "step " + std::to_string(k) + " is beyond train.iterations (" + std::to_string(train.train.iterations) + ")");
  if (e.ema != "model") {
    bool known = false;
    for (double r : train.train.ema_rate) known |= std::abs(std::strtod(e.ema.c_str(), nullptr) - r) < 1e-12;
    if (!known) throw ConfigError(where, "eval.ema", "'" + e.ema + "' is not one of train.ema_rate (or \"model\")");
  }
  check_chains_at(e, train.diffusion.diffusion_steps, cfg, where);
}

// The cell's run; without a run id (run_id "") when its checkpoint file is missing and unpinned
// and `lenient`.
PlannedRun plan_run(const ExperimentFile& f, const Fragments& frag, const Labels& labels, SectionCache& sections,
                    EvalCache& evals, std::string& eval_json, bool lenient) {
  PlannedRun run;
  run.labels = labels;
  ConfigTree cfg = merged(frag.base, nullptr);
  for (size_t i = 0; i < labels.size(); ++i)
    for (size_t j = 0; j < f.axes[i].values.size(); ++j)
      if (f.axes[i].values[j].label == labels[i].second) cfg = merged(cfg, frag.values[i][j]);
  for (const auto& [axis, label] : labels) {
    auto it = frag.overrides.find(axis + "." + label);
    if (it != frag.overrides.end()) cfg = merged(cfg, it->second);
  }
  for (const auto& [keys, value] : frag.sets) cfg = with_value(cfg, keys, value);
  run.config = cfg;
  const std::string where = f.path + " (run " + label_text(labels) + ")";
  const std::string& base_dir = frag.base_dir;
  // The training file is the config without eval:, read by the same strict reader as `repro train`
  // (section by section, each distinct section once) from fresh yaml-cpp nodes of its own; one
  // that does not read is read again whole for the error `repro train` would give, which gets the
  // file lines back from the light tree.
  const ConfigTree train_tree = without(without(cfg, "eval"), "checkpoint");
  run.checkpoint = read_checkpoint(cfg, frag, sections, where);
  if (run.checkpoint && run.checkpoint->identity_sha256().empty()) {
    if (!lenient) throw unnamed_checkpoint(*run.checkpoint, where);
    return run;
  }
  if (auto read = read_train_sections(train_tree, base_dir, sections, !run.checkpoint)) {
    run.train = std::move(read->file);
    run.identity_json = std::move(read->identity_json);
    run.run_id = std::move(read->run_id);
  } else {
    try {
      run.train = config::parse_train_yaml(to_yaml(train_tree), where, base_dir);
    } catch (const ConfigError& e) {
      throw relocated(e, train_tree, where);
    }
  }
  const ConfigTree* eval_node = cfg->find("eval");
  eval_json.clear();
  if (eval_node && *eval_node && (*eval_node)->type != YAML::NodeType::Null) {
    const ReadEval& read = read_eval(cfg, *eval_node, evals, where, base_dir);
    run.eval = read.spec;
    eval_json = read.json;
    if (run.checkpoint) {
      check_eval_against_checkpoint(*run.eval, *run.checkpoint, cfg, where);
      check_chains_at(*run.eval, run.train.diffusion.diffusion_steps, cfg, where);
    } else {
      check_eval_against_run(*run.eval, run.train, cfg, where);
    }
  }
  if (run.checkpoint) {  // named by the file, not by a training
    run.identity_json = config::released_identity(run.train, *run.checkpoint).dump();
    run.run_id = config::run_id_of_dump(run.identity_json);
  } else {
    run.train.data.validate(where);
  }
  if (run.identity_json.empty()) {
    run.identity_json = config::train_identity(run.train, run.train.train.planned_world_size()).dump();
    run.run_id = config::run_id_of_dump(run.identity_json);
  }
  return run;
}

using OnlyFilters = std::map<std::string, std::set<std::string>>;  // axis -> labels --only keeps

OnlyFilters parse_only_filters(const ExperimentFile& f, const std::vector<std::string>& only) {
  OnlyFilters filters;
  for (const auto& o : only) {
    auto [axis, labels] = parse_only(f, o);
    filters[axis].insert(labels.begin(), labels.end());
  }
  return filters;
}

// The product, the first axis varying slowest.
std::vector<Labels> matrix_product(const ExperimentFile& f) {
  std::vector<Labels> combos{{}};
  for (const auto& axis : f.axes) {
    std::vector<Labels> next;
    for (const auto& c : combos)
      for (const auto& v : axis.values) {
        Labels l = c;
        l.emplace_back(axis.name, v.label);
        next.push_back(l);
      }
    combos = next;
  }
  return combos;
}

// Whether the cell has every (axis, label) of `when`.
bool matches(const Labels& l, const std::map<std::string, std::string>& when) {
  for (const auto& [axis, label] : when) {
    bool hit = false;
    for (const auto& [a, x] : l) hit |= a == axis && x == label;
    if (!hit) return false;
  }
  return true;
}

// The cells of the file's matrix, with the exclusions that removed cells an only: entry selected.
struct KeptCells {
  std::vector<Labels> kept;
  std::vector<const Exclusion*> only_excluded_by;  // [only entry]: the first exclusion of one of its cells
};

// only: selects (cells outside it are not in the matrix, and not listed as excluded), exclude
// removes from the selection, include adds back.
KeptCells keep_cells(const ExperimentFile& f, const std::vector<Labels>& combos,
                     std::vector<std::pair<std::string, std::string>>& excluded) {
  KeptCells out;
  out.only_excluded_by.assign(f.only.size(), nullptr);
  for (const auto& c : combos) {
    std::vector<size_t> selected_by;
    for (size_t i = 0; i < f.only.size(); ++i)
      if (matches(c, f.only[i].labels)) selected_by.push_back(i);
    if (!f.only.empty() && selected_by.empty()) continue;
    const Exclusion* ex = nullptr;
    for (const auto& e : f.exclude)
      if (!ex && matches(c, e.when)) ex = &e;
    if (ex) {
      excluded.emplace_back(label_text(c), ex->reason);
      for (auto i : selected_by)
        if (!out.only_excluded_by[i]) out.only_excluded_by[i] = ex;
      continue;
    }
    out.kept.push_back(c);
  }
  for (const auto& inc : f.include) {
    Labels l;
    for (const auto& axis : f.axes) l.emplace_back(axis.name, inc.at(axis.name));
    if (std::find(out.kept.begin(), out.kept.end(), l) == out.kept.end()) out.kept.push_back(l);
  }
  return out;
}

// An only: entry whose every cell is excluded (and none included back) contradicts the file.
void check_only_entries_kept(const ExperimentFile& f, const KeptCells& cells) {
  for (size_t i = 0; i < f.only.size(); ++i) {
    bool any = false;
    for (const auto& c : cells.kept) any = any || matches(c, f.only[i].labels);
    if (!any)
      throw ConfigError(f.only[i].where, "only[" + std::to_string(i) + "]",
                        "selects no cell: every cell it names is excluded (exclude at " +
                            cells.only_excluded_by[i]->where + ": " + cells.only_excluded_by[i]->reason + ")");
  }
}

bool passes_filters(const Labels& cell, const OnlyFilters& filters) {
  bool selected = true;
  for (const auto& [axis, labels] : filters)
    for (const auto& [a, l] : cell)
      if (a == axis && !labels.count(l)) selected = false;
  return selected;
}

std::vector<PlannedRun> plan_runs(const ExperimentFile& f, const std::vector<std::string>& sets,
                                  const std::vector<Labels>& kept, const OnlyFilters& filters, Expansion& out,
                                  const ExpandOptions& options) {
  std::vector<PlannedRun> runs;
  std::map<std::string, std::string> by_id;
  const Fragments frag = fragments_of(f, sets, options.checkpoints_dir_env);
  FileDigests own_digests;
  SectionCache sections;
  sections.digests = options.digests ? options.digests : &own_digests;
  EvalCache evals;
  std::string eval_json;
  runs.reserve(kept.size());
  for (const auto& c : kept) {
    if (!passes_filters(c, filters)) continue;
    PlannedRun run = plan_run(f, frag, c, sections, evals, eval_json, options.lenient);
    if (run.run_id.empty()) {
      out.unnamed.emplace_back(run.label_string(), run.checkpoint->path);
      continue;
    }
    // Cells may share a training run (an axis over eval settings), but not be the same cell.
    const std::string key = run.run_id + "/" + std::to_string(run.train.train.iterations) + eval_json;
    auto [it, fresh] = by_id.emplace(key, run.label_string());
    if (!fresh)
      throw ConfigError(
          f.path, "matrix",
          "runs " + it->second + " and " + run.label_string() + " have the same config (run " + run.run_id + "): " +
              (run.checkpoint
                   ? "their checkpoint files hold the same bytes (SHA-256 " + run.checkpoint->identity_sha256() + ")"
                   : "an axis value that changes nothing is a mistake"));
    runs.push_back(std::move(run));
  }
  return runs;
}

// Cells sharing a run train it once, to the longest length, saving every save_interval of the
// first such cell (the train task's config): every checkpoint a cell evaluates must exist then.
void check_eval_checkpoints(const ExperimentFile& f, const std::vector<PlannedRun>& runs) {
  std::map<std::string, std::pair<int64_t, int64_t>> group;  // run id -> (length, save_interval)
  for (const auto& r : runs) {
    auto [it, fresh] = group.emplace(r.run_id, std::make_pair(r.train.train.iterations, r.train.train.save_interval));
    if (!fresh) it->second.first = std::max(it->second.first, r.train.train.iterations);
  }
  for (const auto& r : runs) {
    if (!r.eval || r.checkpoint) continue;
    const auto [length, save] = group.at(r.run_id);
    std::vector<int64_t> ks = r.eval->at_iterations;
    if (ks.empty()) ks.push_back(r.train.train.iterations);
    for (auto k : ks)
      if (k != length && k % save != 0)
        throw ConfigError(f.path + " (run " + r.label_string() + ")", "eval.at_iterations",
                          "step " + std::to_string(k) + " has no checkpoint: the run trains to " +
                              std::to_string(length) + " saving every " + std::to_string(save) +
                              " (train.save_interval) steps");
  }
}

}  // namespace

std::string PlannedRun::label_string() const { return label_text(labels); }
nlohmann::json PlannedRun::identity() const { return nlohmann::json::parse(identity_json); }

Expansion expand(const ExperimentFile& f, const std::vector<std::string>& sets, const std::vector<std::string>& only,
                 const ExpandOptions& options) {
  const OnlyFilters filters = parse_only_filters(f, only);
  Expansion out;
  const KeptCells cells = keep_cells(f, matrix_product(f), out.excluded);
  check_only_entries_kept(f, cells);
  out.runs = plan_runs(f, sets, cells.kept, filters, out, options);
  check_eval_checkpoints(f, out.runs);
  return out;
}

}  // namespace repro::runner
