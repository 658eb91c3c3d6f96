// repro run EXPERIMENT.yaml: every run of an experiment's matrix, trained, sampled and evaluated
// as tasks in their own processes, recorded in the project's SQLite store; resumable by running
// it again. repro status: what ran, runs and failed, read from the store.
#include <nlohmann/json.hpp>

#include <filesystem>
#include <iomanip>
#include <memory>
#include <ostream>
#include <sstream>

#include "base/util/errors.h"
#include "base/util/exit_code.h"
#include "base/util/stop_signals.h"
#include "cli/commands.h"
#include "runner/executor/local_executor.h"
#include "runner/executor/slurm_executor.h"
#include "runner/experiment/expand.h"
#include "runner/orchestrate/orchestrator.h"
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

void print_dry_run(const runner::Expansion& e, const std::vector<runner::DryRunLine>& lines, bool as_json,
                   std::ostream& out) {
  if (as_json) {
    json j = {{"runs", json::array()}, {"excluded", json::array()}, {"tasks", json::array()}};
    for (const auto& r : e.runs) j["runs"].push_back({{"run_id", r.run_id}, {"cell", r.label_string()}});
    for (const auto& [cell, why] : e.excluded) j["excluded"].push_back({{"cell", cell}, {"reason", why}});
    for (const auto& l : lines)
      j["tasks"].push_back({{"task_id", l.task_id},
                            {"kind", l.kind},
                            {"action", l.action},
                            {"state", l.state},
                            {"depends_on", l.depends_on},
                            {"processes", l.slot.ranks()},
                            {"gpus", l.slot.gpus}});
    out << j.dump(2) << "\n";
    return;
  }
  out << e.runs.size() << " runs";
  if (!e.excluded.empty()) out << " (" << e.excluded.size() << " excluded)";
  out << "\n";
  for (const auto& r : e.runs) out << "  " << r.run_id << "  " << r.label_string() << "\n";
  for (const auto& [cell, why] : e.excluded) out << "  excluded  " << cell << ": " << why << "\n";
  int launch = 0, wait = 0, skip = 0;
  for (const auto& l : lines) (l.action == "launch" ? launch : l.action == "wait" ? wait : skip)++;
  out << lines.size() << " tasks: " << launch << " to launch now, " << wait << " after their dependencies, " << skip
      << " done\n";
  for (const auto& l : lines) {
    out << "  " << std::left << std::setw(7) << l.action << std::setw(7) << l.kind << l.task_id;
    // What a task holds beyond one CPU slot or one GPU: a data-parallel run's processes.
    if (l.slot.ranks() > 1)
      out << "  (" << l.slot.ranks() << " processes"
          << (l.slot.gpus > 0 ? ", " + std::to_string(l.slot.gpus) + " GPUs" : "") << ")";
    out << "\n";
  }
}

int run_experiment(const RunArgs& a, std::ostream& out, std::ostream& err) {
  // Every run is read and checked before anything launches.
  const auto file = runner::read_experiment_file(a.file);
  const auto expansion = runner::expand(file, a.sets, a.only);
  // The whole matrix too, when --only filters it: its run ids are the experiment's current expansion.
  const auto full = a.only.empty() ? std::nullopt : std::make_optional(runner::expand(file, a.sets));
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
    print_dry_run(expansion, runner::Orchestrator::dry_run(store.get(), *executor, plan, o), a.json_out, out);
    return 0;
  }
  runner::Store store(db);
  if (!store.migration().backup_path.empty())
    err << db << ": schema version " << store.migration().from_version << " -> " << store.migration().to_version
        << " (backup " << store.migration().backup_path << ")\n";
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
  run->add_option("--set", a->sets, "override a config key in every run, e.g. --set train.iterations=2000");
  run->add_option("--only", a->only, "only the cells with these labels, e.g. --only dataset=cifar10,celeba64");
  run->add_flag("--dry-run", a->dry_run, "print the expanded runs and tasks; launch nothing");
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
