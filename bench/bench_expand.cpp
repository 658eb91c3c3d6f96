// Benchmark: a 10,000-run experiment through the runner's front end. Reading and expanding the
// file plus planning its tasks (target: under 1 s), then everything `repro status` reads for that
// experiment from a store holding its runs, tasks, some loss curves, results and failed attempts:
// runner::status_of_experiment (four queries, target: under 200 ms), checked against the former
// per-run and per-task reads of cli/cmd_run.cpp's show_status (the same content, which it also
// times). bench_store times runs_of_experiment alone on a synthetic store; this one plans the
// store's rows from a real expansion. Prints a table with the configuration, and a digest of the
// plan (run ids, task ids, specs, configs) to compare implementations of expand/plan by.
//   bench_expand [--seeds N] [--dir DIR] [--keep]   (runs = 10 lr x 10 gamma x N seeds; default N = 100)
//   bench_expand --status-only [--dir DIR]          (status_of_experiment alone, as `repro status`
//                                                    runs it: a process of its own, on a --keep store)
// History: while runner/experiment/yaml_merge.cpp built a yaml-cpp tree per run sharing the file's
// leaf nodes, expansion was quadratic (yaml-cpp merged every run's nodes into one ever-growing
// memory pool): 100 runs took 4.3 s, 400 runs 85 s, 10,000 never finished. Reading each distinct
// config section once and planning without yaml-cpp's emitter then took read + expand + plan from
// 2.7-3.0 s to 1.5-1.7 s, about 1 s of it the first touch of the plan's heap (docs/benchmarks.md).
// Holding specs and run configs as compact JSON text, not nlohmann objects, took the plan from
// ~24 KB to ~8 KB per run and ~76,000 page faults to ~35,000: 0.76-0.95 s.
#include <SQLiteCpp/Statement.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/util/sha256.h"
#include "bench/bench_util.h"
#include "runner/experiment/expand.h"
#include "runner/experiment/experiment_file.h"
#include "runner/orchestrate/orchestrator.h"
#include "store/queries.h"
#include "store/records.h"
#include "store/store.h"
#include "store/transaction.h"

namespace fs = std::filesystem;
using namespace repro::runner;

namespace {

using repro::bench::minor_faults;
using repro::bench::peak_rss_mib;
using repro::bench::seconds_since;

// A table3-like experiment: the paper's 32x32 model and protocol, one checkpoint sampled with 4
// step counts (9 tasks per run), over lr x gamma x seeds.
std::string experiment_text(int seeds) {
  std::string lr, gamma, seed_list;
  for (int i = 0; i < 10; ++i) {
    lr += (i ? ", " : "") + std::to_string(1e-5 * (i + 1));
    gamma += (i ? ", " : "") + std::to_string(0.02 * (i + 1));
  }
  for (int i = 0; i < seeds; ++i) seed_list += (i ? ", " : "") + std::to_string(i);
  return "name: bench_expand\n"
         "description: synthetic 10 lr x 10 gamma x seeds matrix\n"
         "base:\n"
         "  model: {preset: 32}\n"
         "  diffusion: {diffusion_steps: 1000, noise_schedule: cosine}\n"
         "  train: {method: adm-ip, iterations: 500000, save_interval: 10000, batch_size: 128}\n"
         "  data: {path: data/cifar10_train}\n"
         "  eval:\n"
         "    sampling_steps: [1000, 300, 100, 80]\n"
         "    reference: refs/cifar10_train.npz\n"
         "    metrics: [fid, sfid]\n"
         "matrix:\n"
         "  lr: {key: train.lr, values: [" +
         lr +
         "]}\n"
         "  gamma: {key: train.gamma, values: [" +
         gamma +
         "]}\n"
         "seeds: [" +
         seed_list + "]\n";
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int seeds = 100;
  bool keep = false, status_only = false;
  fs::path dir = fs::temp_directory_path() / "repro_bench_expand";
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--seeds") && i + 1 < argc)
      seeds = std::stoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--dir") && i + 1 < argc)
      dir = argv[++i];
    else if (!std::strcmp(argv[i], "--keep"))
      keep = true;
    else if (!std::strcmp(argv[i], "--status-only"))
      status_only = true;
    else {
      std::fprintf(stderr, "usage: bench_expand [--seeds N] [--dir DIR] [--keep | --status-only]\n");
      return 2;
    }
  }
  if (status_only) {
    // `repro status` as a process of its own sees it: only the store, from a --keep run, in memory.
    Store reader((dir / "repro.db").string());
    std::vector<double> times;
    size_t tasks = 0, runs = 0;
    for (int i = 0; i < 5; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      const auto status = status_of_experiment(reader, "bench_expand");
      times.push_back(seconds_since(t0));
      runs = status.size();
      tasks = 0;
      for (const auto& r : status) tasks += r.tasks.size();
    }
    std::printf(
        "| status_of_experiment, alone in its process | %zu runs, %zu tasks | median %.0f ms, first %.0f ms | < 200 ms "
        "|\n",
        runs, tasks, median(times) * 1e3, times.front() * 1e3);
    return 0;
  }
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string path = (dir / "bench_expand.yaml").string();
  std::ofstream(path) << experiment_text(seeds);

  // ---- read + expand + plan ----
  const long faults0 = minor_faults();
  auto t0 = std::chrono::steady_clock::now();
  const ExperimentFile file = read_experiment_file(path);
  const double read_s = seconds_since(t0);
  t0 = std::chrono::steady_clock::now();
  const Expansion expansion = expand(file);
  const double expand_s = seconds_since(t0);
  t0 = std::chrono::steady_clock::now();
  const Plan plan = make_plan({file.name, path, file.sha256}, expansion);
  const double plan_s = seconds_since(t0);
  const long plan_faults = minor_faults() - faults0;
  const size_t runs = expansion.runs.size();
  if (runs != static_cast<size_t>(100 * seeds) || plan.tasks.size() != runs * 9) {
    std::fprintf(stderr, "expanded %zu runs and %zu tasks, expected %d and %d\n", runs, plan.tasks.size(), 100 * seeds,
                 900 * seeds);
    return 1;
  }

  // A digest of what was planned (ids, specs, configs), to compare implementations by.
  std::string planned;
  for (const auto& r : plan.runs) planned += r.run_id + r.config + "\n";
  for (const auto& t : plan.tasks) {
    planned += t.task_id + t.kind + t.spec;
    for (const auto& d : t.depends_on) planned += " " + d;
    for (const auto& c : t.cells) planned += " " + c;
    planned += "\n";
  }
  const std::string plan_digest = repro::sha256_hex(planned).substr(0, 16);

  // ---- the store `repro run` would write for it ----
  const std::string db = (dir / "repro.db").string();
  t0 = std::chrono::steady_clock::now();
  {
    Store store(db);
    WriteTransaction tx(store);
    put_experiment(store, plan.experiment);
    for (const auto& r : plan.runs)
      put_run(store, {r.run_id, plan.experiment.name, r.axes.dump(), r.position, r.config,
                      run_dir_of(dir.string(), r.run_id)});
    for (const auto& t : plan.tasks) put_task(store, {t.task_id, t.run_id, parse_task_kind(t.kind), t.spec});
    // Some progress for status to show: every train task done with 20 loss points (every 10th
    // still running), the eval tasks of every other run done with fid and sfid, and the train
    // task of every 100th run failed after 2 attempts.
    SQLite::Statement state(store.db(), "UPDATE tasks SET state = ?2, attempts = ?3 WHERE task_id = ?1");
    SQLite::Statement metric(store.db(),
                             "INSERT INTO metrics (task_id, name, step, value, seq) VALUES (?1, 'loss', ?2, ?3, ?2)");
    SQLite::Statement attempt(store.db(),
                              "INSERT INTO attempts (task_id, attempt, executor, log_path, reason) "
                              "VALUES (?1, ?2, 'local', ?3, ?4)");
    std::map<std::string, size_t> run_number;
    for (const auto& r : plan.runs) run_number.emplace(r.run_id, run_number.size());
    for (const auto& t : plan.tasks) {
      const size_t n = run_number.at(t.run_id);
      const char* s = nullptr;
      int attempts = 1;
      if (t.kind == "train") {
        s = n % 100 == 7 ? "failed" : n % 10 == 3 ? "running" : "done";
        if (n % 100 == 7) attempts = 2;
        for (int k = 1; k <= 20; ++k) {
          metric.bind(1, t.task_id), metric.bind(2, k * 1000), metric.bind(3, 1.0 / k);
          metric.exec(), metric.reset();
        }
        for (int a = 1; a <= attempts; ++a) {
          attempt.bind(1, t.task_id), attempt.bind(2, a), attempt.bind(3, "logs/" + t.task_id + std::to_string(a));
          attempt.bind(4, a == 2 ? "exit 1 (internal error)" : "");
          attempt.exec(), attempt.reset();
        }
      } else if (t.kind == "eval" && n % 2 == 0) {
        s = "done";
        for (const char* m : {"fid", "sfid"})
          put_result(store, {t.task_id, t.run_id, t.task_id, m, 3.5 + static_cast<double>(n % 7), "{}"});
      }
      if (!s) continue;
      state.bind(1, t.task_id), state.bind(2, s), state.bind(3, attempts);
      state.exec(), state.reset();
    }
    tx.commit();
  }
  const double fill_s = seconds_since(t0);

  // ---- what `repro status EXPERIMENT` reads ----
  // status_of_experiment (four queries) against the former reads of show_status: per run its
  // results and tasks, per task its latest metrics and, when failed, its attempts. Same content.
  std::vector<double> summary_times, full_times;
  double per_task_s = 0;
  size_t listed = 0, tasks_read = 0;
  {
    Store reader(db);  // a fresh connection, as `repro status` opens
    std::vector<RunStatus> status;
    for (int i = 0; i < 5; ++i) {
      t0 = std::chrono::steady_clock::now();
      const auto summary = runs_of_experiment(reader, plan.experiment.name);
      summary_times.push_back(seconds_since(t0));
      listed = summary.size();
      t0 = std::chrono::steady_clock::now();
      status = status_of_experiment(reader, plan.experiment.name);
      full_times.push_back(seconds_since(t0));
    }
    t0 = std::chrono::steady_clock::now();
    size_t mismatches = 0;
    const auto again = runs_of_experiment(reader, plan.experiment.name);
    for (size_t i = 0; i < again.size(); ++i) {
      const auto& rs = status.at(i);
      if (rs.run.run_id != again[i].run_id) ++mismatches;
      const auto results = results_of_run(reader, again[i].run_id);
      const auto tasks = tasks_of_run(reader, again[i].run_id);
      if (tasks.size() != rs.tasks.size()) ++mismatches;
      for (size_t k = 0; k < tasks.size() && k < rs.tasks.size(); ++k) {
        const auto& t = tasks[k];
        const auto& n = rs.tasks[k];
        if (t.task_id != n.task_id || t.state != n.state || t.attempts != n.attempts) ++mismatches;
        std::optional<MetricPoint> loss;
        for (const auto& m : latest_metrics(reader, t.task_id))
          if (m.name == "loss") loss = m;
        if (loss.has_value() != n.loss.has_value() ||
            (loss && (loss->step != n.loss->step || loss->value != n.loss->value)))
          ++mismatches;
        std::vector<std::pair<std::string, double>> res;
        for (const auto& r : results)
          if (r.row.task_id == t.task_id) res.emplace_back(r.row.metric, r.row.value);
        if (res != n.results) ++mismatches;
        if (t.state == TaskState::kFailed) {
          const auto attempts = attempts_of_task(reader, t.task_id);
          if (attempts.empty() != !n.last_failed ||
              (n.last_failed && (attempts.back().reason != n.last_failed->reason ||
                                 attempts.back().log_path != n.last_failed->log_path)))
            ++mismatches;
        }
        ++tasks_read;
      }
    }
    per_task_s = seconds_since(t0);
    if (mismatches) {
      std::fprintf(stderr, "status_of_experiment differs from the per-task reads in %zu places\n", mismatches);
      return 1;
    }
  }
  if (listed != runs || tasks_read != plan.tasks.size()) {
    std::fprintf(stderr, "status listed %zu runs and %zu tasks\n", listed, tasks_read);
    return 1;
  }

  std::printf("bench_expand  SQLite %s, %u hardware threads, 1 thread used, dir %s\n", sqlite3_libversion(),
              std::thread::hardware_concurrency(), dir.string().c_str());
  std::printf("| measurement | configuration | figure | target |\n|---|---|---|---|\n");
  std::printf(
      "| read_experiment_file | 10 lr x 10 gamma x %d seeds, paper 32x32 model, 4 sampling step counts | %.1f ms | |\n",
      seeds, read_s * 1e3);
  std::printf("| expand (strict read + validation + identity of every run) | %zu runs | %.0f ms | |\n", runs,
              expand_s * 1e3);
  std::printf("| make_plan (task graph) | %zu tasks (train + 4 x (sample, eval) per run) | %.0f ms | |\n",
              plan.tasks.size(), plan_s * 1e3);
  std::printf("| read + expand + plan | %ld page faults | %.0f ms | < 1000 ms |\n", plan_faults,
              (read_s + expand_s + plan_s) * 1e3);
  std::printf("| fill the store | %zu runs, %zu tasks, one transaction | %.0f ms | |\n", runs, plan.tasks.size(),
              fill_s * 1e3);
  std::printf("| runs_of_experiment (task counts by state) | %zu runs | median %.1f ms, first %.1f ms | < 200 ms |\n",
              runs, median(summary_times) * 1e3, summary_times.front() * 1e3);
  std::printf(
      "| status_of_experiment (show_status's reads: 4 queries) | %zu runs, %zu tasks, %zu loss points "
      "| median %.0f ms, first %.0f ms | < 200 ms |\n",
      runs, tasks_read, runs * 20, median(full_times) * 1e3, full_times.front() * 1e3);
  std::printf("| the former reads (per run: results, tasks; per task: latest metrics, attempts) | same | %.0f ms | |\n",
              per_task_s * 1e3);
  std::printf("plan digest %s, peak RSS %.0f MiB\n", plan_digest.c_str(), peak_rss_mib());
  if (!keep) fs::remove_all(dir);  // --keep: leave DIR/repro.db to look at
  return 0;
}
