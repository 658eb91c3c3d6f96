// repro show: one run or task as JSON (the model) and as text (rendered from it).
#include <algorithm>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <map>
#include <sstream>

#include "reports/cell_format.h"
#include "reports/inspect.h"
#include "reports/report_spec.h"
#include "store/inspect_queries.h"
#include "store/queries.h"

namespace repro::reports {
namespace {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

ojson parsed(const std::string& text) {
  ojson j = ojson::parse(text, nullptr, false);
  return j.is_discarded() ? ojson(text) : j;
}

ojson optional_number(const std::optional<double>& v) { return v ? ojson(*v) : ojson(); }

// The stored path under the run directory (an absolute stored path stays as it is).
std::string absolute_under(const std::string& run_dir, const std::string& path) {
  return (std::filesystem::path(run_dir) / path).lexically_normal().string();
}

ojson provenance_object(const std::vector<runner::ProvenanceEntry>& all, const std::string& task_id) {
  ojson out = ojson::object();
  for (const auto& p : all)
    if (p.task_id == task_id) out[p.key] = p.value;
  return out;
}

ojson artifact_list(const std::vector<runner::ArtifactEntry>& all, const std::string& task_id,
                    const std::string& run_dir) {
  ojson out = ojson::array();
  for (const auto& a : all) {
    if (a.task_id != task_id) continue;
    ojson j = {{"path", absolute_under(run_dir, a.path)}};
    j["sha256"] = a.sha256.empty() ? ojson() : ojson(a.sha256);
    j["bytes"] = a.bytes ? ojson(*a.bytes) : ojson();
    out.push_back(j);
  }
  return out;
}

// Results grouped by result id, in (result_id) order; `task_id` non-empty keeps those its eval or
// sample task is.
ojson result_groups(const std::vector<runner::SettingResult>& all, const std::string& task_id) {
  ojson out = ojson::array();
  for (const auto& r : all) {
    if (!task_id.empty() && r.eval_task != task_id && r.sample_task != task_id) continue;
    if (out.empty() || out.back()["result_id"] != r.result_id) {
      ojson g = {{"result_id", r.result_id}, {"eval_task", r.eval_task}, {"sample_task", r.sample_task}};
      ojson settings = ojson::object();
      const auto values = setting_values(r.sample_spec);
      for (size_t i = 0; i < values.size(); ++i)
        if (!at_neutral_value(sampling_settings()[i].first, values[i]))
          settings[sampling_settings()[i].first] = values[i];
      g["settings"] = settings;
      // What the numbers were measured with: the feature network (its weights' SHA-256) and the
      // reference batch's digest, from the evaluator recipe.
      const ojson recipe = ojson::parse(r.recipe, nullptr, false);
      for (const char* key : {"features", "reference_sha256"})
        if (recipe.is_object() && recipe.contains(key) && recipe[key].is_string()) g[key] = recipe[key];
      g["metrics"] = ojson::object();
      out.push_back(g);
    }
    out.back()["metrics"][r.metric] = r.value;
  }
  return out;
}

// A task's timing from its attempts: first start, the last attempt's end (null while it runs),
// and the time its finished attempts took together.
void add_timing(ojson& j, const std::vector<runner::AttemptRecord>& attempts) {
  std::optional<double> first;
  double took = 0;
  for (const auto& a : attempts) {
    if (a.started && (!first || *a.started < *first)) first = a.started;
    if (a.started && a.ended) took += *a.ended - *a.started;
  }
  j["started"] = optional_number(first);
  j["ended"] = attempts.empty() ? ojson() : optional_number(attempts.back().ended);
  j["time_s"] = took;
  j["log"] = attempts.empty() || attempts.back().log_path.empty() ? ojson() : ojson(attempts.back().log_path);
}

ojson attempt_object(const runner::AttemptRecord& a) {
  ojson j = {{"attempt", a.attempt},
             {"executor", runner::to_string(a.executor)},
             {"job_id", a.job_id},
             {"host", a.host},
             {"gpus", a.gpus}};
  j["started"] = optional_number(a.started);
  j["ended"] = optional_number(a.ended);
  j["exit_code"] = a.exit_code ? ojson(*a.exit_code) : ojson();
  j["reason"] = a.reason;
  j["log"] = a.log_path;
  return j;
}

// ---- text ----

std::string utc(const ojson& seconds) {
  if (!seconds.is_number()) return "-";
  const auto t = static_cast<std::time_t>(seconds.get<double>());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

// A value in the text view: "-" where there is none.
std::string text(const ojson& v) { return scalar_text(v, "-"); }

// "k=v k=v" of an object's members, nulls left out.
std::string pairs(const ojson& object, const std::string& sep = " ") {
  std::string out;
  for (const auto& [k, v] : object.items())
    if (!v.is_null()) out += (out.empty() ? "" : sep) + k + "=" + text(v);
  return out;
}

void render_key_values(std::ostream& o, const std::string& title, const ojson& object) {
  if (object.empty()) return;
  size_t width = 0;
  for (const auto& [k, v] : object.items()) width = std::max(width, k.size());
  o << "\n" << title << "\n";
  for (const auto& [k, v] : object.items()) o << "  " << k << std::string(width - k.size() + 2, ' ') << text(v) << "\n";
}

std::string metrics_text(const ojson& group) {
  std::string out;
  for (const auto& [m, v] : group["metrics"].items()) out += (out.empty() ? "" : ", ") + m + " " + text(v);
  return out;
}

void render_results(std::ostream& o, const ojson& groups) {
  if (groups.empty()) return;
  o << "\nresults\n";
  for (const auto& g : groups) {
    o << "  " << pairs(g["settings"]) << ": " << metrics_text(g) << "\n    result " << text(g["result_id"])
      << ", eval task " << text(g["eval_task"]) << "\n";
    if (g.contains("features")) o << "    features " << text(g["features"]) << "\n";
    if (g.contains("reference_sha256")) o << "    reference sha256 " << text(g["reference_sha256"]) << "\n";
  }
}

void render_artifacts(std::ostream& o, const ojson& artifacts, const std::string& indent) {
  for (const auto& a : artifacts)
    o << indent << "artifact " << text(a["path"]) << (a["bytes"].is_null() ? "" : " (" + text(a["bytes"]) + " bytes)")
      << "\n";
}

// The provenance the tasks that recorded any agree on (same key, same value in each): shown once
// with the run's own rows instead of on every task.
ojson shared_provenance(const ojson& tasks) {
  ojson common;
  bool first = true;
  for (const auto& t : tasks) {
    if (t["provenance"].empty()) continue;
    if (first) {
      common = t["provenance"];
      first = false;
      continue;
    }
    ojson kept = ojson::object();
    for (const auto& [k, v] : common.items())
      if (t["provenance"].contains(k) && t["provenance"][k] == v) kept[k] = v;
    common = kept;
  }
  return common.is_null() ? ojson::object() : common;
}

void render_task_line(std::ostream& o, const ojson& t, const ojson& groups, const ojson& shared) {
  o << "  " << text(t["kind"]) << " " << text(t["task"]) << "  " << text(t["state"]) << ", " << t["attempts"].get<int>()
    << " attempt(s)";
  if (t["started"].is_number()) o << ", started " << utc(t["started"]);
  if (t["ended"].is_number()) o << ", ended " << utc(t["ended"]);
  if (t["time_s"].get<double>() > 0) o << ", took " << format_duration(t["time_s"].get<double>());
  o << "\n";
  if (!t["log"].is_null()) o << "    log " << text(t["log"]) << "\n";
  ojson own = ojson::object();
  for (const auto& [k, v] : t["provenance"].items())
    if (!shared.contains(k)) own[k] = v;
  if (!own.empty()) o << "    provenance " << pairs(own) << "\n";
  render_artifacts(o, t["artifacts"], "    ");
  for (const auto& g : groups)
    if (g["eval_task"] == t["task"]) o << "    results " << metrics_text(g) << "\n";
}

std::string render_run(const ojson& r) {
  std::ostringstream o;
  o << "run " << text(r["run"]) << "  " << text(r["status"]) << "\n";
  o << "  directory  " << text(r["run_dir"]) << "\n";
  o << "  source     " << text(r["source"]);
  if (r["config"].is_object() && r["config"].contains("checkpoint") && r["config"]["checkpoint"].is_object())
    o << " (checkpoint sha256 " << text(r["config"]["checkpoint"].value("sha256", ojson())) << ")";
  o << "\n";
  o << "  created    " << utc(r["created"]) << ", updated " << utc(r["updated"]) << "\n";
  for (const auto& e : r["experiments"])
    o << "  experiment " << text(e["experiment"]) << " #" << e["position"].get<int64_t>() << ": " << pairs(e["axes"])
      << (e["stale"].get<bool>() ? "  (stale: not in the experiment's latest expansion)" : "") << "\n";
  o << "\nconfig\n" << dump_json(r["config"], 2) << "\n";
  // The run's rows and those its tasks agree on, by key; a key the run has with another value stays
  // with the tasks.
  ojson shared = ojson::object();
  std::map<std::string, ojson> merged;
  for (const auto& [k, v] : r["provenance"].items()) merged[k] = v;
  const ojson agreed = shared_provenance(r["tasks"]);
  for (const auto& [k, v] : agreed.items()) {
    if (merged.count(k) && merged[k] != v) continue;
    merged[k] = v;
    shared[k] = v;
  }
  render_key_values(o, "provenance", ojson(merged));
  if (!r["tasks"].empty()) o << "\ntasks\n";
  for (const auto& t : r["tasks"]) render_task_line(o, t, r["results"], shared);
  render_results(o, r["results"]);
  return o.str();
}

std::string render_task(const ojson& t) {
  std::ostringstream o;
  o << "task " << text(t["task"]) << "  " << text(t["kind"]) << ", " << text(t["state"]) << "\n";
  o << "  run        " << text(t["run"]) << "\n  directory  " << text(t["run_dir"]) << "\n";
  o << "\nspec\n" << dump_json(t["spec"], 2) << "\n";
  render_key_values(o, "provenance", t["provenance"]);
  o << "\nattempts" << (t["attempt_list"].empty() ? ": none yet" : "") << "\n";
  for (const auto& a : t["attempt_list"]) {
    o << "  " << a["attempt"].get<int>() << "  " << text(a["executor"]) << " job " << text(a["job_id"]) << " on "
      << text(a["host"]) << (a["gpus"] == "" ? "" : " gpus " + text(a["gpus"])) << ", " << utc(a["started"]) << " -> "
      << utc(a["ended"]);
    if (!a["exit_code"].is_null()) o << ", exit " << text(a["exit_code"]);
    if (a["reason"] != "") o << ", " << text(a["reason"]);
    o << "\n    log " << text(a["log"]) << "\n";
  }
  if (!t["artifacts"].empty()) o << "\nartifacts\n";
  render_artifacts(o, t["artifacts"], "  ");
  render_results(o, t["results"]);
  return o.str();
}

}  // namespace

ojson show_run(runner::Store& store, const std::string& run_id) {
  const auto run = runner::run_record(store, run_id);
  if (!run) return ojson();
  ojson r = {{"run", run->run_id},
             {"status", run->status},
             {"source", source_value(run->released)},
             {"run_dir", run->run_dir},
             {"created", run->created},
             {"updated", run->updated},
             {"experiments", ojson::array()},
             {"config", parsed(run->config)}};
  for (const auto& m : runner::memberships_of_run(store, run_id))
    r["experiments"].push_back(
        {{"experiment", m.experiment}, {"position", m.position}, {"axes", parsed(m.axes)}, {"stale", m.stale}});
  const auto provenance = runner::provenance_of_run(store, run_id);
  const auto artifacts = runner::artifacts_of_run(store, run_id);
  r["provenance"] = provenance_object(provenance, "");
  r["tasks"] = ojson::array();
  for (const auto& t : runner::tasks_of_run(store, run_id)) {
    ojson j = {{"task", t.task_id},
               {"kind", runner::to_string(t.kind)},
               {"state", runner::to_string(t.state)},
               {"attempts", t.attempts}};
    add_timing(j, runner::attempts_of_task(store, t.task_id));
    j["provenance"] = provenance_object(provenance, t.task_id);
    j["artifacts"] = artifact_list(artifacts, t.task_id, run->run_dir);
    r["tasks"].push_back(j);
  }
  r["results"] = result_groups(runner::run_results(store, run_id), "");
  return r;
}

ojson show_task(runner::Store& store, const std::string& task_id) {
  const auto run_id = runner::run_of_task(store, task_id);
  if (!run_id) return ojson();
  const auto run = runner::run_record(store, *run_id);
  const std::string run_dir = run ? run->run_dir : "";
  for (const auto& t : runner::tasks_of_run(store, *run_id)) {
    if (t.task_id != task_id) continue;
    ojson j = {{"task", t.task_id},
               {"run", *run_id},
               {"run_dir", run_dir},
               {"kind", runner::to_string(t.kind)},
               {"state", runner::to_string(t.state)},
               {"attempts", t.attempts},
               {"created", t.created},
               {"updated", t.updated}};
    const auto attempts = runner::attempts_of_task(store, task_id);
    add_timing(j, attempts);
    j["spec"] = parsed(t.spec);
    j["provenance"] = provenance_object(runner::provenance_of_run(store, *run_id), task_id);
    j["attempt_list"] = ojson::array();
    for (const auto& a : attempts) j["attempt_list"].push_back(attempt_object(a));
    j["artifacts"] = artifact_list(runner::artifacts_of_run(store, *run_id), task_id, run_dir);
    j["results"] = result_groups(runner::run_results(store, *run_id), task_id);
    return j;
  }
  return ojson();
}

std::string render_show(const ojson& shown) {
  if (shown.contains("task")) return render_task(shown);
  return render_run(shown);
}

}  // namespace repro::reports
