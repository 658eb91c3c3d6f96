#include "reports/mlflow_export.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <ostream>
#include <set>
#include <utility>

#include "base/util/errors.h"
#include "base/util/sha256.h"
#include "base/util/strings.h"
#include "reports/json_text.h"
#include "reports/observations.h"
#include "reports/provenance.h"
#include "reports/run_paths.h"
#include "store/export_queries.h"
#include "store/inspect_queries.h"

namespace repro::reports {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// MLflow's RunStatus and SourceType enums (mlflow/protos/service.proto), stored as integers.
constexpr int kRunning = 1, kFinished = 3, kFailed = 4, kKilled = 5;
constexpr int kSourceLocal = 4;
constexpr size_t kMaxKeyLength = 250;  // MAX_ENTITY_KEY_LENGTH
// The sample settings a result key names when they vary within the experiment (steps always).
// eps_scale_b/k and start_t: Epsilon Scaling and chains from data (issue 18) are other settings
// of the same steps; without them their results would share one metric key.
const char* const kVaryingSettings[] = {"sampler",     "eta",         "ema",    "num_samples",
                                        "eps_scale_b", "eps_scale_k", "start_t"};

// A run's params, metrics and tags: key -> file contents.
using KeyedFiles = std::map<std::string, std::string>;
struct RunFiles {
  KeyedFiles params, metrics, tags;
  int64_t metric_points = 0;
};

std::string io_what(const fs::path& p, const std::string& why) { return "cannot write " + p.string() + ": " + why; }

void write_text(const fs::path& path, const std::string& text) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  if (ec) throw IoError(io_what(path.parent_path(), ec.message()));
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
  f.close();
  if (!f) throw IoError(io_what(path, "write failed"));
}

// A YAML double-quoted scalar: JSON's string syntax is a subset of YAML's, so PyYAML reads it
// back exactly (escapes included).
std::string yaml_string(const std::string& s) { return dump_json(json(s)); }

int64_t unix_ms(double seconds) { return std::max<int64_t>(0, std::llround(seconds * 1000.0)); }

// pathlib's as_uri(), as MLflow writes artifact locations: file:// and the percent-encoded path.
std::string file_uri(const fs::path& absolute) {
  static const char* hex = "0123456789ABCDEF";
  std::string out = "file://";
  for (const unsigned char c : absolute.generic_string()) {
    if (std::isalnum(c) || std::string_view("/-._~").find(static_cast<char>(c)) != std::string_view::npos) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

int mlflow_status(const std::string& repro_status) {
  if (repro_status == "done") return kFinished;
  if (repro_status == "failed") return kFailed;
  if (repro_status == "cancelled") return kKilled;
  return kRunning;  // pending and running: MLflow has no "not started yet" a run can stay in
}

// FileStore keeps each key in a file whose path is the key: a key that is also the directory of
// another ("fid" beside "fid/steps_100") cannot be written, so it gets '_' appended until free.
KeyedFiles without_file_dir_clashes(const KeyedFiles& in) {
  std::set<std::string> dirs;
  for (const auto& [key, text] : in)
    for (size_t slash = key.find('/'); slash != std::string::npos; slash = key.find('/', slash + 1))
      dirs.insert(key.substr(0, slash));
  KeyedFiles out;
  for (const auto& [key, text] : in) {
    std::string k = key;
    while (dirs.count(k) || (k != key && in.count(k))) k += '_';
    out[k] = text;
  }
  return out;
}

// Sanitised keys; a later key that sanitises to an earlier one's name keeps the earlier value.
KeyedFiles sanitised(const KeyedFiles& in) {
  KeyedFiles out;
  for (const auto& [key, text] : in) out.emplace(mlflow_key(key), text);
  return without_file_dir_clashes(out);
}

void write_keyed_files(const fs::path& dir, const KeyedFiles& files) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw IoError(io_what(dir, ec.message()));
  for (const auto& [key, text] : sanitised(files)) write_text(dir / key, text);
}

// The labels of the run's axes in the order the experiment declares them: "method=adm, seed=0".
std::string run_name(const std::string& axes_json, const std::string& run_id) {
  const auto axes = nlohmann::ordered_json::parse(axes_json, nullptr, false);
  std::vector<std::string> parts;
  if (axes.is_object())
    for (const auto& [axis, label] : axes.items()) parts.push_back(axis + "=" + scalar_text(label));
  return parts.empty() ? run_id : join(parts, ", ");
}

json parse_object(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  return j.is_object() ? j : json::object();
}

// The sample settings that take more than one value among the experiment's results.
std::set<std::string> varying_settings(const std::vector<std::vector<runner::ExportResult>>& results) {
  std::map<std::string, std::set<std::string>> seen;
  for (const auto& run : results)
    for (const auto& r : run) {
      const json spec = parse_object(r.sample_spec);
      for (const char* s : kVaryingSettings) seen[s].insert(spec.contains(s) ? scalar_text(spec[s]) : "");
    }
  std::set<std::string> out;
  for (const auto& [setting, values] : seen)
    if (values.size() > 1) out.insert(setting);
  return out;
}

// "fid/steps_100" (and "_sampler_ddim", ... for the settings that vary); the plain metric name
// when the result names no sample task.
std::string result_key(const runner::ExportResult& r, const json& spec, const std::set<std::string>& varying) {
  std::vector<std::string> parts;
  if (spec.contains("steps")) parts.push_back("steps_" + scalar_text(spec["steps"]));
  for (const char* s : kVaryingSettings)
    if (varying.count(s)) parts.push_back(std::string(s) + "_" + (spec.contains(s) ? scalar_text(spec[s]) : "none"));
  return parts.empty() ? r.metric : r.metric + "/" + join(parts, "_");
}

std::string metric_line(double seconds, double value, int64_t step) {
  return std::to_string(unix_ms(seconds)) + " " + format_number(value) + " " + std::to_string(step) + "\n";
}

struct ExperimentContext {
  runner::ExportExperiment experiment;
  std::string id;
  fs::path staged_dir;                                                   // where its files are written now
  std::string artifact_location;                                         // file:// URI of its directory once installed
  std::set<std::string> varying;                                         // sample settings named in result keys
  std::map<std::string, std::map<std::string, std::string>> provenance;  // run id -> key -> value
};

RunFiles run_files(runner::Store& store, const ExperimentContext& ctx, const runner::ExportRun& run,
                   const std::vector<runner::ExportResult>& results, const std::string& name, const std::string& user) {
  RunFiles f;
  for (const auto& [key, value] : flatten_config(parse_object(run.config)))
    if (!key.empty()) f.params[key] = scalar_text(value);  // "": an empty config
  const json axes = parse_object(run.axes);
  for (const auto& [axis, label] : axes.items()) f.params["axis." + axis] = scalar_text(label);
  for (const auto& p : runner::train_metrics_of_run(store, run.run_id)) {
    f.metrics[p.name] += metric_line(p.time, p.value, p.step);
    ++f.metric_points;
  }
  for (const auto& r : results) {
    const json spec = parse_object(r.sample_spec);
    const int64_t step = spec.value("checkpoint_step", int64_t{0});
    f.metrics[result_key(r, spec, ctx.varying)] += metric_line(r.created, r.value, step);
    ++f.metric_points;
  }
  f.tags = {{"mlflow.runName", name},
            {"mlflow.source.type", "LOCAL"},
            {"mlflow.source.name", ctx.experiment.file},
            {"repro.run_id", run.run_id},
            {"repro.experiment", ctx.experiment.name},
            {"repro.status", run.status},
            {"repro.stale", run.stale ? "true" : "false"},
            {"repro.position", std::to_string(run.position)},
            {"repro.run_dir", run.run_dir}};
  if (!user.empty()) f.tags["mlflow.user"] = user;
  const auto prov = ctx.provenance.find(run.run_id);
  if (prov != ctx.provenance.end())
    for (const auto& [key, value] : prov->second) {
      f.tags["provenance." + key] = value;
      if (key == "git_commit" && value.find(" | ") == std::string::npos) f.tags["mlflow.source.git.commit"] = value;
    }
  return f;
}

std::string run_meta_yaml(const ExperimentContext& ctx, const runner::ExportRun& run, const std::string& id,
                          const std::string& name, const std::string& user) {
  const int status = mlflow_status(run.status);
  const std::string end = status == kRunning ? "null" : std::to_string(unix_ms(run.ended.value_or(run.updated)));
  std::string y;
  y += "artifact_uri: " + yaml_string(ctx.artifact_location + "/" + id + "/artifacts") + "\n";
  y += "deleted_time: null\n";
  y += "end_time: " + end + "\n";
  y += "entry_point_name: \"\"\n";
  y += "experiment_id: " + yaml_string(ctx.id) + "\n";
  y += "lifecycle_stage: active\n";
  y += "run_id: " + yaml_string(id) + "\n";
  y += "run_name: " + yaml_string(name) + "\n";
  y += "run_uuid: " + yaml_string(id) + "\n";
  y += "source_name: \"\"\n";
  y += "source_type: " + std::to_string(kSourceLocal) + "\n";
  y += "source_version: \"\"\n";
  y += "start_time: " + std::to_string(unix_ms(run.started.value_or(run.created))) + "\n";
  y += "status: " + std::to_string(status) + "\n";
  y += "tags: []\n";
  y += "user_id: " + yaml_string(user) + "\n";
  return y;
}

std::string experiment_meta_yaml(const std::string& id, const std::string& name, const std::string& artifact_location,
                                 double created, double updated) {
  std::string y;
  y += "artifact_location: " + yaml_string(artifact_location) + "\n";
  y += "creation_time: " + std::to_string(unix_ms(created)) + "\n";
  y += "experiment_id: " + yaml_string(id) + "\n";
  y += "last_update_time: " + std::to_string(unix_ms(updated)) + "\n";
  y += "lifecycle_stage: active\n";
  y += "name: " + yaml_string(name) + "\n";
  return y;
}

// Links each artifact under artifacts/ and lists every one, linked or not, in repro_artifacts.tsv.
void link_artifacts(runner::Store& store, const runner::ExportRun& run, const fs::path& run_root,
                    const fs::path& artifacts_dir, MlflowExportSummary* summary) {
  const auto artifacts = runner::artifacts_of_run(store, run.run_id);
  if (artifacts.empty()) return;
  std::string tsv = "path\ttask_id\tsha256\tbytes\tlink\n";
  std::set<std::string> linked;
  for (const auto& a : artifacts) {
    const std::string rel = path_inside_run(a.path);
    std::string state = "linked";
    if (rel.empty()) {
      state = "not linked: the path leaves the run directory";
    } else if (!linked.count(rel)) {
      const fs::path target = run_root / rel;
      std::error_code ec;
      if (!fs::exists(target)) {
        state = "missing: " + target.string();
      } else {
        fs::create_directories((artifacts_dir / rel).parent_path(), ec);
        if (!ec) fs::create_symlink(target, artifacts_dir / rel, ec);
        if (ec) state = "not linked: " + ec.message();
      }
      if (state == "linked") linked.insert(rel);
    }
    if (state == "linked")
      ++summary->artifacts_linked;
    else
      ++summary->artifacts_missing;
    tsv += a.path + "\t" + a.task_id + "\t" + a.sha256 + "\t" + (a.bytes ? std::to_string(*a.bytes) : "") + "\t" +
           state + "\n";
  }
  write_text(artifacts_dir / "repro_artifacts.tsv", tsv);
}

void write_run(runner::Store& store, const ExperimentContext& ctx, const runner::ExportRun& run,
               const std::vector<runner::ExportResult>& results, const MlflowExportOptions& options,
               MlflowExportSummary* summary) {
  const std::string id = mlflow_run_id(ctx.experiment.name, run.run_id);
  const std::string name = run_name(run.axes, run.run_id);
  const fs::path dir = ctx.staged_dir / id;
  const RunFiles f = run_files(store, ctx, run, results, name, options.user);
  write_text(dir / "meta.yaml", run_meta_yaml(ctx, run, id, name, options.user));
  write_keyed_files(dir / "params", f.params);
  write_keyed_files(dir / "metrics", f.metrics);
  write_keyed_files(dir / "tags", f.tags);
  std::error_code ec;
  fs::create_directories(dir / "artifacts", ec);
  if (ec) throw IoError(io_what(dir / "artifacts", ec.message()));
  fs::path root = run.run_dir;
  if (root.is_relative()) root = fs::absolute(fs::path(options.project_dir) / root);
  link_artifacts(store, run, root.lexically_normal(), dir / "artifacts", summary);
  ++summary->runs;
  summary->stale_runs += run.stale ? 1 : 0;
  summary->params += static_cast<int64_t>(f.params.size());
  summary->metric_points += f.metric_points;
}

void write_experiment(runner::Store& store, const runner::ExportExperiment& e, const std::string& id,
                      const fs::path& staging, const fs::path& final_dir, const MlflowExportOptions& options,
                      MlflowExportSummary* summary) {
  ExperimentContext ctx{e, id, staging / id, file_uri(final_dir / id), {}, {}};
  const ProvenanceIndex provenance(store, e.name);
  for (const auto& r : provenance.runs()) ctx.provenance[r.run_id] = r.entries;
  const auto runs = runner::export_runs(store, e.name);
  std::vector<std::vector<runner::ExportResult>> results;
  results.reserve(runs.size());
  for (const auto& run : runs) results.push_back(runner::export_results_of_run(store, run.run_id));
  ctx.varying = varying_settings(results);
  write_text(ctx.staged_dir / "meta.yaml",
             experiment_meta_yaml(id, e.name, ctx.artifact_location, e.created, e.updated));
  write_keyed_files(ctx.staged_dir / "tags", {{"repro.file", e.file}, {"repro.file_sha256", e.file_sha256}});
  const int64_t before = summary->runs;
  for (size_t i = 0; i < runs.size(); ++i) write_run(store, ctx, runs[i], results[i], options, summary);
  summary->experiments.push_back({e.name, id, summary->runs - before});
}

std::string pid_suffix() { return std::to_string(static_cast<long long>(::getpid())); }

void check_replaceable(const fs::path& dir) {
  if (!fs::exists(dir)) return;
  if (!fs::is_directory(dir))
    throw ConfigError("repro export mlflow", "DIR", dir.string() + " exists and is not a directory");
  if (fs::is_empty(dir) || fs::exists(dir / kMlflowExportMarker)) return;
  throw ConfigError("repro export mlflow", "DIR",
                    dir.string() + " exists and is not an earlier `repro export mlflow` (it has no " +
                        kMlflowExportMarker + "): refusing to replace it; name a new or empty directory");
}

// Puts the staged tree at `dir`. With a previous export there, one rename(2) with RENAME_EXCHANGE
// swaps them (readers see the old tree or the new one); file systems without it get two renames,
// and a crash between them leaves DIR.old-PID and the staged tree, never a half tree at DIR.
void install(const fs::path& staged, const fs::path& dir) {
  std::error_code ec;
  if (!fs::exists(dir)) {
    fs::rename(staged, dir, ec);
    if (ec) throw IoError(io_what(dir, ec.message()));
    return;
  }
  if (::renameat2(AT_FDCWD, staged.c_str(), AT_FDCWD, dir.c_str(), RENAME_EXCHANGE) == 0) {
    fs::remove_all(staged, ec);
    return;
  }
  const fs::path old = dir.string() + ".old-" + pid_suffix();
  fs::rename(dir, old, ec);
  if (!ec) fs::rename(staged, dir, ec);
  if (ec) throw IoError(io_what(dir, ec.message()));
  fs::remove_all(old, ec);
}

fs::path absolute_dir(const std::string& out_dir) {
  if (out_dir.empty()) throw ConfigError("repro export mlflow", "DIR", "expected a directory to write");
  fs::path p = fs::absolute(out_dir).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  return p;
}

std::vector<runner::ExportExperiment> selected_experiments(runner::Store& store, const std::string& name) {
  auto all = runner::export_experiments(store);
  if (name.empty()) return all;
  std::vector<std::string> names;
  for (const auto& e : all) {
    if (e.name == name) return {e};
    names.push_back(e.name);
  }
  throw ConfigError("repro export mlflow", "EXPERIMENT",
                    "no experiment '" + name + "' in " + store.path() +
                        (names.empty() ? " (it holds none)" : " (it holds: " + join(names, ", ") + ")"));
}

}  // namespace

std::string mlflow_experiment_id(const std::string& experiment) {
  // 15 hex digits (below 2^60) modulo 10^18: at most 18 decimal digits as MLflow's own ids, an
  // int64 in its SQL stores too. Ids already below 10^18 stay as earlier exports wrote them.
  constexpr unsigned long long kLimit = 1000000000000000000ULL;
  const unsigned long long n =
      std::stoull(sha256_hex("repro experiment\n" + experiment).substr(0, 15), nullptr, 16) % kLimit;
  return std::to_string(n == 0 ? 1 : n);
}

std::string mlflow_run_id(const std::string& experiment, const std::string& run_id) {
  return sha256_hex("repro run\n" + experiment + "\n" + run_id).substr(0, 32);
}

std::string mlflow_key(const std::string& key) {
  std::string clean;
  for (size_t i = 0; i < key.size(); ++i) {
    const auto c = static_cast<unsigned char>(key[i]);
    const bool ok = std::isalnum(c) || c == '_' || c == '.' || c == '-' || c == ' ' || c == '/';
    if (c >= 0x80 && c < 0xC0 && i > 0 && static_cast<unsigned char>(key[i - 1]) >= 0x80) continue;  // UTF-8 tail
    clean += ok ? static_cast<char>(c) : '_';
  }
  std::vector<std::string> segments;
  for (auto& s : split(clean, '/')) {
    if (s.empty()) continue;
    segments.push_back(s == "." || s == ".." ? "_" : s);
  }
  std::string out = join(segments, "/");
  if (out.size() > kMaxKeyLength) out.resize(kMaxKeyLength);
  while (!out.empty() && out.back() == '/') out.pop_back();
  return out.empty() ? "_" : out;
}

MlflowExportSummary export_mlflow(runner::Store& store, const MlflowExportOptions& options) {
  const fs::path dir = absolute_dir(options.out_dir);
  const auto experiments = selected_experiments(store, options.experiment);
  check_replaceable(dir);
  MlflowExportSummary summary;
  summary.out_dir = dir.string();
  const fs::path staging = dir.string() + ".tmp-" + pid_suffix();
  std::error_code ec;
  fs::remove_all(staging, ec);  // left by an earlier process with this pid
  try {
    std::set<std::string> ids;
    bool has_default = false;
    double first_created = experiments.empty() ? 0 : experiments.front().created;
    for (const auto& e : experiments) {
      // A repro experiment named "Default" is MLflow's default experiment, id "0".
      const std::string id = e.name == "Default" ? "0" : mlflow_experiment_id(e.name);
      has_default = has_default || id == "0";
      if (!ids.insert(id).second) throw IoError("two experiments share the MLflow id " + id + ": rename one");
      write_experiment(store, e, id, staging, dir, options, &summary);
    }
    // FileStore creates experiment 0 in a new root and the UI opens it: write it as MLflow would.
    if (!has_default)
      write_text(staging / "0" / "meta.yaml",
                 experiment_meta_yaml("0", "Default", file_uri(dir / "0"), first_created, first_created));
    fs::create_directories(staging / ".trash", ec);
    write_text(staging / kMlflowExportMarker,
               "written by `repro export mlflow` from " + store.path() + "; the next export replaces this directory\n");
    install(staging, dir);
  } catch (...) {
    fs::remove_all(staging, ec);
    throw;
  }
  return summary;
}

int export_command(const ExportArgs& args, std::ostream& out, std::ostream& err) {
  if (args.format != "mlflow")
    throw ConfigError("repro export", "FORMAT", "expected mlflow, got '" + args.format + "'");
  runner::Store store = open_existing_store(args.where, "repro export");
  MlflowExportOptions options;
  options.out_dir = args.out_dir;
  options.experiment = args.experiment;
  options.project_dir = args.where.project;
  options.user = args.user;
  const MlflowExportSummary s = export_mlflow(store, options);
  for (const auto& e : s.experiments)
    out << "experiment " << e.name << ": id " << e.experiment_id << ", " << e.runs << " runs\n";
  out << "wrote " << s.out_dir << ": " << s.experiments.size() << " experiments, " << s.runs << " runs ("
      << s.stale_runs << " stale), " << s.params << " params, " << s.metric_points << " metric points, "
      << s.artifacts_linked << " artifacts linked";
  if (s.artifacts_missing > 0) out << " (" << s.artifacts_missing << " not linked: see artifacts/repro_artifacts.tsv)";
  out << "\nbrowse: mlflow ui --backend-store-uri " << shell_quote(s.out_dir) << "\n";
  if (s.runs == 0) err << "warning: no runs to export\n";
  return 0;
}

}  // namespace repro::reports
