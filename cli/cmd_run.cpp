// repro run EXPERIMENT.yaml: every run of an experiment's matrix, trained, sampled and evaluated
// as tasks in their own processes, recorded in the project's SQLite store; resumable by running
// it again. repro status: what ran, runs and failed, read from the store.
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <iomanip>
#include <memory>
#include <ostream>
#include <set>
#include <sstream>

#include "base/eval/inception_weights_file.h"
#include "base/util/errors.h"
#include "base/util/exit_code.h"
#include "base/util/file_io.h"
#include "base/util/stop_signals.h"
#include "cli/commands.h"
#include "datasets/packed_format.h"
#include "runner/executor/local_executor.h"
#include "runner/executor/slurm_executor.h"
#include "runner/experiment/expand.h"
#include "runner/orchestrate/orchestrator.h"
#include "runner/plan/cost_estimate.h"
#include "runner/plan/preflight.h"
#include "runner/plan/run_history.h"
#include "store/lookups.h"
#include "store/queries.h"
#include "store/store.h"

namespace repro::cli {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct RunArgs {
  std::string file;
  std::string project = ".";
  std::string db;
  std::string gpus;
  int max_parallel = 1;
  double timeout_s = 0;
  int retries = 3;
  std::vector<std::string> sets, only;
  bool dry_run = false;
  bool json_out = false;
  std::string executor = "local";      // local | slurm (docs/runner.md, "Slurm")
  bool max_parallel_set = false;       // slurm: --max-parallel caps jobs in flight; else no cap
  int array_cap = -1;                  // slurm: --array-cap; -1 = not given (SlurmExecutorOptions::array_cap's default)
  bool no_arrays = false;              // slurm: --no-arrays (as --array-cap 0)
  runner::SlurmExecutorOptions slurm;  // what the Slurm options parse into
  runner::SlurmSettings slurm_given;   // the Slurm options the command line gave (over the file's slurm:)
};

// The executor --executor names; Slurm's settings are `slurm` (the file's, under the command line's).
// Slurm: throws ConfigError when sbatch/squeue/scancel are missing.
std::unique_ptr<runner::Executor> make_executor(const RunArgs& a, const runner::SlurmSettings& slurm) {
  if (a.executor == "slurm") {
    runner::SlurmExecutorOptions so;
    if (slurm.partition) so.partition = *slurm.partition;
    if (slurm.account) so.account = *slurm.account;
    if (slurm.time) so.time_limit = *slurm.time;
    if (slurm.sbatch_args) so.sbatch_args = *slurm.sbatch_args;
    if (slurm.cpus_per_task) so.cpus_per_task = *slurm.cpus_per_task;
    if (slurm.gpus) so.max_gpus_per_task = *slurm.gpus;
    so.max_in_flight = a.max_parallel_set ? a.max_parallel : 0;
    if (slurm.array_cap == 0)
      so.arrays = false;
    else if (slurm.array_cap)
      so.array_cap = *slurm.array_cap;
    return std::make_unique<runner::SlurmExecutor>(so);
  }
  runner::LocalExecutorOptions eo;
  eo.max_parallel = a.max_parallel;
  eo.gpus = a.gpus.empty() ? runner::gpus_from_environment() : runner::parse_gpu_list(a.gpus);
  if (eo.max_parallel < 1 && eo.gpus.empty())
    throw ConfigError("command line", "--max-parallel",
                      "expected >= 1 without GPUs, got " + std::to_string(eo.max_parallel));
  return std::make_unique<runner::LocalExecutor>(eo);
}

std::string db_path(const std::string& project, const std::string& db) {
  return db.empty() ? (fs::path(project) / runner::kDefaultDatabaseName).string() : db;
}

// What a dry run finds: the orchestrator's lines (action, slot, fits), the cost of the tasks that
// would run, and the checks of their inputs (docs/runner.md, "Dry run").
struct DryRunFindings {
  std::vector<runner::DryRunLine> lines;
  runner::CostEstimate cost;
  std::vector<runner::PreflightCheck> checks;
  std::string executor;
  int unfit = 0;   // tasks to run that never fit the executor
  int failed = 0;  // inputs missing or mismatched
  bool can_run() const { return unfit == 0 && failed == 0; }
};

// A prepared dataset's fingerprint, for the pre-flight (the runner does not link the datasets layer).
std::string manifest_fingerprint(const std::string& dir) {
  const std::string path = (fs::path(dir) / datasets::kPackedManifestFile).string();
  try {
    return datasets::PackedManifest::from_json(json::parse(read_file(path)), path).fingerprint;
  } catch (const json::exception& e) {
    throw IoError(path + ": not a manifest: " + e.what());
  }
}

DryRunFindings dry_run_findings(runner::Store* store, const runner::Executor& executor, const runner::Plan& plan,
                                const runner::Expansion& e, const runner::OrchestratorOptions& o) {
  DryRunFindings f;
  f.executor = executor.name();
  f.lines = runner::Orchestrator::dry_run(store, executor, plan, o);
  std::vector<bool> to_run;
  to_run.reserve(f.lines.size());
  for (const auto& l : f.lines) {
    to_run.push_back(l.action != "skip");
    if (to_run.back() && !l.fits) ++f.unfit;
  }
  std::vector<std::string> run_ids;
  for (const auto& r : plan.runs) run_ids.push_back(r.run_id);
  const auto history = store ? runner::run_history(*store, run_ids) : std::map<std::string, runner::RunHistory>{};
  f.cost = runner::estimate_cost(e.runs, plan.tasks, to_run, history);
  f.checks =
      runner::preflight(e.runs, plan.tasks, to_run, history, {metrics::inception_weights_path(), manifest_fingerprint});
  // Cells whose checkpoint file is missing with no pinned digest: their runs could not be planned.
  for (const auto& [cell, path] : e.unnamed)
    f.checks.push_back({"checkpoint", path, false,
                        "missing, and no checkpoint.sha256 is pinned: the run of " + cell +
                            " has no name, so its tasks are not planned (" + config::kCheckpointsDirHint + ")",
                        1});
  for (const auto& c : f.checks) f.failed += c.ok ? 0 : 1;
  return f;
}

std::string hours_text(const std::optional<double>& h) {
  if (!h) return "?";
  std::ostringstream s;
  s << std::fixed << std::setprecision(*h < 10 ? 2 : *h < 1000 ? 1 : 0) << *h;
  return s.str();
}

void print_dry_run_json(const runner::Expansion& e, const DryRunFindings& f, std::ostream& out) {
  json j = {{"runs", json::array()}, {"excluded", json::array()}, {"tasks", json::array()}};
  for (const auto& r : e.runs) j["runs"].push_back({{"run_id", r.run_id}, {"cell", r.label_string()}});
  for (const auto& [cell, why] : e.excluded) j["excluded"].push_back({{"cell", cell}, {"reason", why}});
  for (size_t i = 0; i < f.lines.size(); ++i) {
    const auto& l = f.lines[i];
    const auto& c = f.cost.tasks[i];
    json t = {{"task_id", l.task_id},
              {"kind", l.kind},
              {"action", l.action},
              {"state", l.state},
              {"depends_on", l.depends_on},
              {"processes", l.slot.ranks()},
              {"gpus", l.slot.gpus},
              {"fits", l.fits},
              {"cost_source", runner::to_string(c.source)},
              {"cost_detail", c.detail},
              {"disk_bytes", c.disk_bytes}};
    if (!l.fits) t["unfit_reason"] = l.unfit_reason;
    t["gpu_hours"] = c.gpu_hours ? json(*c.gpu_hours) : json(nullptr);
    t["hours"] = c.hours ? json(*c.hours) : json(nullptr);
    j["tasks"].push_back(std::move(t));
  }
  const auto& T = f.cost.totals;
  j["totals"] = {{"tasks", T.tasks},
                 {"gpu_hours_estimate", T.gpu_hours_estimate},
                 {"gpu_hours_measured", T.gpu_hours_measured},
                 {"unknown", T.unknown},
                 {"checkpoint_bytes", T.checkpoint_bytes},
                 {"checkpoint_bytes_keep_all", T.checkpoint_bytes_keep_all},
                 {"sample_bytes", T.sample_bytes},
                 {"sample_files", T.sample_files},
                 {"exposure_bytes", T.exposure_bytes},
                 {"exposure_files", T.exposure_files}};
  j["preflight"] = json::array();
  for (const auto& c : f.checks)
    j["preflight"].push_back(
        {{"what", c.what}, {"path", c.path}, {"ok", c.ok}, {"message", c.message}, {"runs", c.runs}});
  j["can_run"] = f.can_run();
  j["unfit"] = f.unfit;
  out << j.dump(2) << "\n";
}

void print_totals_and_checks(const DryRunFindings& f, std::ostream& out) {
  const auto& T = f.cost.totals;
  out << "cost of the " << T.tasks << " tasks to run (done ones not counted; GPU-hours at one GPU per process):\n"
      << "  " << hours_text(T.gpu_hours_estimate + T.gpu_hours_measured)
      << " GPU-h: " << hours_text(T.gpu_hours_measured) << " measured, " << hours_text(T.gpu_hours_estimate)
      << " estimated (docs/throughput.md)";
  if (T.unknown > 0) out << ", " << T.unknown << " tasks unknown";
  out << "\n  checkpoints " << runner::bytes_text(T.checkpoint_bytes) << " under train.keep (keep: all "
      << runner::bytes_text(T.checkpoint_bytes_keep_all) << "); samples " << runner::bytes_text(T.sample_bytes)
      << " in " << T.sample_files << " npz files";
  if (T.exposure_files > 0)
    out << "; exposure curves " << runner::bytes_text(T.exposure_bytes) << " in " << T.exposure_files << " tasks";
  out << "\n";
  out << "pre-flight (" << f.checks.size() << " inputs):\n";
  for (const auto& c : f.checks)
    out << "  " << std::left << std::setw(9) << (c.ok ? "ok" : "FAILED") << std::setw(19) << c.what << c.path << "  ("
        << c.runs << (c.runs == 1 ? " run" : " runs") << "): " << c.message << "\n";
  if (f.can_run()) return;
  out << "cannot run here:";
  if (f.unfit > 0) out << " " << f.unfit << " tasks never fit the " << f.executor << " executor;";
  if (f.failed > 0) out << " " << f.failed << " inputs missing or mismatched;";
  out << " exit " << to_int(ExitCode::kRunFailed) << "\n";
}

void print_dry_run(const runner::Expansion& e, const DryRunFindings& f, bool as_json, std::ostream& out) {
  if (as_json) return print_dry_run_json(e, f, out);
  out << e.runs.size() << " runs";
  if (!e.excluded.empty()) out << " (" << e.excluded.size() << " excluded)";
  out << "\n";
  for (const auto& r : e.runs) out << "  " << r.run_id << "  " << r.label_string() << "\n";
  for (const auto& [cell, why] : e.excluded) out << "  excluded  " << cell << ": " << why << "\n";
  int launch = 0, wait = 0, skip = 0;
  for (const auto& l : f.lines) (l.action == "launch" ? launch : l.action == "wait" ? wait : skip)++;
  out << f.lines.size() << " tasks: " << launch << " to launch now, " << wait << " after their dependencies, " << skip
      << " done\n";
  for (size_t i = 0; i < f.lines.size(); ++i) {
    const auto& l = f.lines[i];
    const auto& c = f.cost.tasks[i];
    out << "  " << std::left << std::setw(7) << l.action << std::setw(7) << l.kind << l.task_id << "  ("
        << l.slot.ranks() << (l.slot.ranks() == 1 ? " process" : " processes") << ", " << l.slot.gpus << " GPUs)  "
        << hours_text(c.gpu_hours) << " GPU-h " << runner::to_string(c.source);
    if (c.disk_bytes > 0) out << ", " << runner::bytes_text(c.disk_bytes);
    if (!l.fits && l.action != "skip") out << "  NEVER FITS: " << l.unfit_reason;
    out << "\n";
  }
  print_totals_and_checks(f, out);
}

// The pre-flight's checkpoint rows for the released runs whose sample tasks are not done, before
// anything launches: a failed one is printed to `err` and thrown as the sample task would fail
// (IoError, exit 3: missing, another digest; DataError, exit 4: keys or shapes), launching nothing.
void check_released_checkpoints(runner::Store& store, const runner::Plan& plan, const runner::Expansion& e,
                                std::ostream& err) {
  std::set<std::string> released, sampled;
  for (const auto& r : e.runs)
    if (r.checkpoint) released.insert(r.run_id);
  for (const auto& t : plan.tasks)
    if (t.kind == "sample" && released.count(t.run_id) && !sampled.count(t.run_id) &&
        runner::task_state(store, t.task_id) != runner::TaskState::kDone)
      sampled.insert(t.run_id);
  int failed = 0;
  bool file_fault = false;
  for (const auto& c : runner::checkpoint_checks(e.runs, sampled)) {
    if (c.check.ok) continue;
    ++failed;
    file_fault |= c.fault == runner::CheckpointFault::kFile;
    err << "FAILED checkpoint " << c.check.path << "  (" << c.check.runs << (c.check.runs == 1 ? " run" : " runs")
        << "): " << c.check.message << "\n";
  }
  if (failed == 0) return;
  const std::string why = std::to_string(failed) + " released checkpoint" + (failed == 1 ? "" : "s") +
                          " failed the pre-flight (above); nothing launched (repro run --dry-run lists every input)";
  if (file_fault) throw IoError(why);
  throw DataError(why);
}

int run_experiment(const RunArgs& a, std::ostream& out, std::ostream& err) {
  // Every run is read and checked before anything launches.
  const auto file = runner::read_experiment_file(a.file);
  runner::FileDigests digests;
  runner::ExpandOptions eo;
  const char* env = std::getenv("REPRO_CHECKPOINTS_DIR");
  eo.checkpoints_dir_env = env ? env : "";
  eo.digests = &digests;
  eo.lenient = a.dry_run;  // a missing checkpoint file is then a failed input of the dry run
  const auto expansion = runner::expand(file, a.sets, a.only, eo);
  // The whole matrix too, when --only filters it: its run ids are the experiment's current expansion.
  eo.lenient = true;
  const auto full = a.only.empty() ? std::nullopt : std::make_optional(runner::expand(file, a.sets, {}, eo));
  const auto plan = runner::make_plan({file.name, a.file, file.sha256}, expansion, full ? &*full : nullptr);
  const auto slurm = runner::merge_slurm_options(file.slurm, a.slurm_given);
  const std::unique_ptr<runner::Executor> executor = make_executor(a, slurm);
  runner::OrchestratorOptions o;
  fs::create_directories(a.project);
  o.project_dir = fs::absolute(a.project).lexically_normal().string();
  o.repro_binary = fs::read_symlink("/proc/self/exe").string();
  o.retry.max_attempts = std::max(1, a.retries);
  o.task_timeout_s = a.timeout_s;
  const std::string db = db_path(a.project, a.db);
  if (a.dry_run) {
    std::unique_ptr<runner::Store> store;
    if (fs::exists(db)) store = std::make_unique<runner::Store>(db, runner::read_only_options());
    if (a.executor == "slurm" && !a.json_out) out << "slurm: " << runner::describe(slurm) << "\n";
    const DryRunFindings findings = dry_run_findings(store.get(), *executor, plan, expansion, o);
    print_dry_run(expansion, findings, a.json_out, out);
    return findings.can_run() ? 0 : to_int(ExitCode::kRunFailed);
  }
  runner::Store store(db);
  if (!store.migration().backup_path.empty())
    err << db << ": schema version " << store.migration().from_version << " -> " << store.migration().to_version
        << " (backup " << store.migration().backup_path << ")\n";
  check_released_checkpoints(store, plan, expansion, err);
  StopSignals signals;
  o.stop_requests = signals.count();
  o.on_progress = [&err](const runner::TaskProgress& p) {
    err << p.kind << " " << p.task_id << ": " << runner::to_string(p.state);
    if (p.step) err << " step " << *p.step << (p.total_steps ? "/" + std::to_string(*p.total_steps) : "");
    if (p.eta_s) err << " eta " << static_cast<int64_t>(*p.eta_s) << " s";
    if (!p.message.empty()) err << " (" << p.message << ")";
    err << "\n";
  };
  err << "experiment " << file.name << ": " << expansion.runs.size() << " runs, " << plan.tasks.size()
      << " tasks, store " << db << "\n";
  runner::Orchestrator orchestrator(store, *executor, o);
  const auto summary = orchestrator.run(plan);
  out << "done " << summary.done << ", already done " << summary.skipped << ", failed " << summary.failed
      << ", cancelled " << summary.cancelled << "\n";
  for (const auto& t : summary.tasks)
    if (t.state == runner::TaskState::kFailed) out << "  failed " << t.task_id << ": " << t.reason << "\n";
  if (summary.interrupted) return to_int(ExitCode::kInterrupted);
  return summary.ok() ? 0 : to_int(ExitCode::kRunFailed);
}

int show_status(const RunArgs& a, const std::string& experiment, std::ostream& out) {
  const std::string db = db_path(a.project, a.db);
  if (!fs::exists(db)) throw IoError(db + ": no store here yet (run `repro run EXPERIMENT.yaml` first, or pass --db)");
  runner::Store store(db, runner::read_only_options());
  const std::vector<std::string> names =
      experiment.empty() ? runner::experiment_names(store) : std::vector<std::string>{experiment};
  json j = json::array();
  for (const auto& name : names) {
    // Four queries per experiment, whatever its size (store/queries.h).
    const auto status = runner::status_of_experiment(store, name);
    if (status.empty() && !experiment.empty())
      throw ConfigError("repro status", "EXPERIMENT", "no experiment '" + name + "' in " + db);
    runner::TaskCounts total;
    for (const auto& [r, tasks] : status) {
      total.pending += r.tasks.pending;
      total.running += r.tasks.running;
      total.done += r.tasks.done;
      total.failed += r.tasks.failed;
      total.cancelled += r.tasks.cancelled;
    }
    json e = {{"experiment", name},
              {"runs", json::array()},
              {"tasks",
               {{"pending", total.pending},
                {"running", total.running},
                {"done", total.done},
                {"failed", total.failed},
                {"cancelled", total.cancelled}}}};
    const auto stale = std::count_if(status.begin(), status.end(), [](const auto& r) { return r.run.stale; });
    if (!a.json_out)
      out << name << ": " << status.size() << " runs"
          << (stale > 0 ? " (" + std::to_string(stale) + " stale: of earlier expansions, left out of reports)" : "")
          << "; tasks " << total.done << " done, " << total.running << " running, " << total.pending << " pending, "
          << total.failed << " failed, " << total.cancelled << " cancelled\n";
    for (const auto& [r, tasks] : status) {
      json rj = {{"run_id", r.run_id},
                 {"axes", json::parse(r.axes)},
                 {"status", runner::to_string(r.status)},
                 {"stale", r.stale},
                 {"tasks", json::array()}};
      if (!a.json_out)
        out << "  " << r.run_id << "  " << std::left << std::setw(10) << runner::to_string(r.status) << r.axes
            << (r.stale ? "  (stale)" : "") << "\n";
      for (const auto& t : tasks) {
        json tj = {{"task_id", t.task_id},
                   {"kind", runner::to_string(t.kind)},
                   {"state", runner::to_string(t.state)},
                   {"attempts", t.attempts}};
        if (t.loss) tj["step"] = t.loss->step, tj["loss"] = t.loss->value;
        for (const auto& [metric, value] : t.results) tj["results"][metric] = value;
        if (t.last_failed) tj["reason"] = t.last_failed->reason, tj["log"] = t.last_failed->log_path;
        if (!a.json_out) {
          out << "    " << std::setw(7) << runner::to_string(t.kind) << std::setw(10) << runner::to_string(t.state)
              << t.task_id;
          if (tj.contains("step")) out << "  step " << tj["step"] << " loss " << tj["loss"];
          if (tj.contains("results")) out << "  " << tj["results"].dump();
          if (tj.contains("reason"))
            out << "  (" << tj["reason"].get<std::string>() << "; log " << tj["log"].get<std::string>() << ")";
          out << "\n";
        }
        rj["tasks"].push_back(tj);
      }
      e["runs"].push_back(rj);
    }
    j.push_back(e);
  }
  if (a.json_out) out << j.dump(2) << "\n";
  return 0;
}

}  // namespace

void add_run_commands(CLI::App& app, std::ostream& out, std::ostream& err, int* exit_code) {
  auto a = std::make_shared<RunArgs>();
  auto* run = app.add_subcommand(
      "run", "Run an experiment: every cell of its matrix trained, sampled and evaluated; resumable");
  run->add_option("EXPERIMENT", a->file, "experiment YAML (docs/experiments.md)")->required();
  run->add_option("--project", a->project, "project directory: runs/ and the store go here")->capture_default_str();
  run->add_option("--db", a->db, "store file (default: PROJECT/repro.db)");
  run->add_option("--gpus", a->gpus,
                  "GPU ids to hand out, e.g. 0,1,2,3 (default: CUDA_VISIBLE_DEVICES, else CPU only)");
  run->add_option("--max-parallel", a->max_parallel, "tasks at once (CPU slots; slurm: jobs in flight, default no cap)")
      ->capture_default_str();
  run->add_option("--timeout", a->timeout_s, "seconds per task attempt (0 = none)")->capture_default_str();
  run->add_option("--retries", a->retries, "attempts per task for failures that may be transient")
      ->capture_default_str();
  run->add_option("--set", a->sets,
                  "override a config key in every run, e.g. --set train.iterations=2000; --set checkpoints_dir=DIR "
                  "says where relative checkpoint.path values are (over REPRO_CHECKPOINTS_DIR and the file's "
                  "checkpoints_dir:)");
  run->add_option("--only", a->only, "only the cells with these labels, e.g. --only dataset=cifar10,celeba64");
  run->add_flag("--dry-run", a->dry_run,
                "print the runs and tasks, whether each fits, their GPU-hours and disk, and check the inputs; launch "
                "nothing (exit 7 when something cannot run)");
  run->add_flag("--json", a->json_out, "with --dry-run: JSON");
  run->add_option("--executor", a->executor,
                  "where tasks run: local processes, or Slurm batch jobs (the Slurm options below "
                  "override the experiment file's slurm: section key by key)")
      ->check(CLI::IsMember({"local", "slurm"}))
      ->capture_default_str();
  run->add_option("--partition", a->slurm.partition, "slurm: sbatch --partition");
  run->add_option("--account", a->slurm.account, "slurm: sbatch --account");
  run->add_option("--time", a->slurm.time_limit, "slurm: sbatch --time for every job (default: from --timeout)");
  run->add_option("--sbatch-arg", a->slurm.sbatch_args,
                  "slurm: an extra sbatch option, e.g. --sbatch-arg=--qos=high (repeatable)");
  run->add_option("--slurm-gpus", a->slurm.max_gpus_per_task, "slurm: the most GPUs one task may ask for (0: CPU jobs)")
      ->capture_default_str();
  run->add_option("--cpus-per-task", a->slurm.cpus_per_task,
                  "slurm: sbatch --cpus-per-task (0: the cluster's default)");
  run->add_option("--array-cap", a->array_cap,
                  "slurm: tasks ready together with equal resources go out as one job array, at most N of its "
                  "elements running at once (%N; default: --max-parallel, else no cap); 0: one job per task")
      ->check(CLI::NonNegativeNumber);
  run->add_flag("--no-arrays", a->no_arrays, "slurm: one job per task, no job arrays (as --array-cap 0)");
  auto* max_parallel = run->get_option("--max-parallel");
  run->callback([a, run, max_parallel, &out, &err, exit_code] {
    a->max_parallel_set = max_parallel->count() > 0;
    const auto given = [run](const char* option) { return run->get_option(option)->count() > 0; };
    runner::SlurmSettings& g = a->slurm_given;
    if (given("--partition")) g.partition = a->slurm.partition;
    if (given("--account")) g.account = a->slurm.account;
    if (given("--time")) g.time = a->slurm.time_limit;
    if (given("--sbatch-arg")) g.sbatch_args = a->slurm.sbatch_args;
    if (given("--slurm-gpus")) g.gpus = a->slurm.max_gpus_per_task;
    if (given("--cpus-per-task")) g.cpus_per_task = a->slurm.cpus_per_task;
    if (a->no_arrays)
      g.array_cap = 0;
    else if (given("--array-cap"))
      g.array_cap = a->array_cap;
    if (a->executor != "slurm" &&
        (!a->slurm.partition.empty() || !a->slurm.account.empty() || !a->slurm.time_limit.empty() ||
         !a->slurm.sbatch_args.empty() || a->array_cap >= 0 || a->no_arrays))
      throw ConfigError(
          "command line", "--executor",
          "--partition, --account, --time, --sbatch-arg, --array-cap and --no-arrays need --executor slurm");
    *exit_code = run_experiment(*a, out, err);
  });

  auto experiment = std::make_shared<std::string>();
  auto* status = app.add_subcommand("status", "What ran, runs and failed (read from the store)");
  status->add_option("EXPERIMENT", *experiment, "an experiment's name (default: all)");
  status->add_option("--project", a->project, "project directory")->capture_default_str();
  status->add_option("--db", a->db, "store file (default: PROJECT/repro.db)");
  status->add_flag("--json", a->json_out, "JSON");
  status->callback([a, experiment, &out, exit_code] { *exit_code = show_status(*a, *experiment, out); });
}

}  // namespace repro::cli
