// Benchmark: the results store. Ingest of events.jsonl files holding 1,000,000 metric rows
// (target: under 10 s), and the task counts by state of a 10,000-run experiment, the query behind
// `repro status` (target: under 200 ms). Prints a table with the configuration.
//   bench_store [--rows N] [--runs N] [--tasks-per-run N] [--dir DIR]
#include <sqlite3.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_util.h"
#include "store/ingest.h"
#include "store/queries.h"
#include "store/records.h"
#include "store/store.h"
#include "store/transaction.h"

namespace fs = std::filesystem;
using namespace repro::runner;

namespace {

using repro::bench::peak_rss_mib;
using repro::bench::seconds_since;

// The numeric keys of a `log` record as core/train/trainer.cpp writes them (docs/events.md),
// `time` included: 22 metric rows per record.
const std::vector<std::string>& log_keys() {
  static const std::vector<std::string> keys = {
      "loss",   "mse",       "vb",         "loss_q0", "loss_q1", "loss_q2",        "loss_q3",
      "mse_q0", "mse_q1",    "mse_q2",     "mse_q3",  "vb_q0",   "vb_q1",          "vb_q2",
      "vb_q3",  "grad_norm", "param_norm", "samples", "lr",      "images_per_sec", "wall_time"};
  return keys;
}

// Writes `records` log records (plus start and end) to `path`; returns the metric rows they hold.
int64_t write_events(const fs::path& path, int64_t records, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::ofstream out(path, std::ios::binary);
  int64_t seq = 0;
  auto emit = [&](nlohmann::json r) {
    r["v"] = 1;
    r["seq"] = seq++;
    r["time"] = 1.7e9 + static_cast<double>(seq);
    out << r.dump() << "\n";
  };
  emit({{"type", "start"}, {"step", 0}, {"resumed_from", -1}, {"method", "adm-ip"}});
  for (int64_t i = 1; i <= records; ++i) {
    nlohmann::json r{{"type", "log"}, {"step", i * 100}};
    for (const auto& key : log_keys()) r[key] = u(rng);
    emit(std::move(r));
  }
  emit({{"type", "end"}, {"status", "completed"}, {"step", records * 100}, {"message", ""}});
  return records * static_cast<int64_t>(log_keys().size() + 1);
}

}  // namespace

int main(int argc, char** argv) {
  int64_t rows = 1000000;
  int64_t runs = 10000;
  int tasks_per_run = 9;  // train + 4 x (sample, eval): table3's sampling step counts
  fs::path dir = fs::temp_directory_path() / "repro_bench_store";
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--rows") && i + 1 < argc)
      rows = std::stoll(argv[++i]);
    else if (!std::strcmp(argv[i], "--runs") && i + 1 < argc)
      runs = std::stoll(argv[++i]);
    else if (!std::strcmp(argv[i], "--tasks-per-run") && i + 1 < argc)
      tasks_per_run = std::stoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--dir") && i + 1 < argc)
      dir = argv[++i];
    else {
      std::fprintf(stderr, "usage: bench_store [--rows N] [--runs N] [--tasks-per-run N] [--dir DIR]\n");
      return 2;
    }
  }
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::mt19937_64 rng(0);

  // ---- ingest: 10 training tasks, one events.jsonl each ----
  const int ingest_tasks = 10;
  const int64_t per_record = static_cast<int64_t>(log_keys().size() + 1);
  const int64_t records_per_task = (rows + per_record * ingest_tasks - 1) / (per_record * ingest_tasks);
  int64_t expected_rows = 0;
  int64_t file_bytes = 0;
  std::vector<fs::path> files;
  {
    Store store((dir / "ingest.db").string());
    put_experiment(store, {"bench", "bench.yaml", std::string(64, '0')});
    for (int t = 0; t < ingest_tasks; ++t) {
      const std::string run = "run" + std::to_string(t);
      put_run(store, {run, "bench", "{}", t, "{}", (dir / run).string()});
      put_task(store, {run + ".train", run, TaskKind::kTrain, "{}"});
      fs::create_directories(dir / run);
      files.push_back(dir / run / "events.jsonl");
      expected_rows += write_events(files.back(), records_per_task, rng);
      file_bytes += static_cast<int64_t>(fs::file_size(files.back()));
    }
  }
  int64_t ingested_rows = 0;
  double ingest_s = 0;
  double reingest_s = 0;
  {
    Store store((dir / "ingest.db").string());
    auto t0 = std::chrono::steady_clock::now();
    for (int t = 0; t < ingest_tasks; ++t) {
      ingested_rows += ingest_events(store, "run" + std::to_string(t) + ".train", files[t].string()).metric_rows;
    }
    ingest_s = seconds_since(t0);
    t0 = std::chrono::steady_clock::now();
    int64_t again = 0;
    for (int t = 0; t < ingest_tasks; ++t) {
      again += ingest_events(store, "run" + std::to_string(t) + ".train", files[t].string()).metric_rows;
    }
    reingest_s = seconds_since(t0);
    if (again != 0 || ingested_rows != expected_rows) {
      std::fprintf(stderr, "wrong counts: ingested %lld of %lld, again %lld\n", static_cast<long long>(ingested_rows),
                   static_cast<long long>(expected_rows), static_cast<long long>(again));
      return 1;
    }
  }
  const double ingest_db_mib = static_cast<double>(fs::file_size(dir / "ingest.db")) / 1048576.0;

  // ---- status: task counts by state for one experiment of `runs` runs ----
  double fill_s = 0;
  double query_median_s = 0;
  double query_max_s = 0;
  size_t listed = 0;
  {
    Store store((dir / "status.db").string());
    auto t0 = std::chrono::steady_clock::now();
    {
      WriteTransaction tx(store);
      put_experiment(store, {"table3", "table3.yaml", std::string(64, '0')});
      put_experiment(store, {"other", "other.yaml", std::string(64, '1')});
      const char* states[] = {"pending", "running", "done", "failed", "cancelled"};
      SQLite::Statement state(store.db(), "UPDATE tasks SET state = ?1 WHERE task_id = ?2");
      for (int64_t r = 0; r < runs * 2; ++r) {
        // Half the runs belong to another experiment, so the query must select.
        const std::string run = "r" + std::to_string(r);
        put_run(store, {run, r % 2 ? "other" : "table3", "{\"cell\":" + std::to_string(r) + "}", r, "{\"lr\":0.0001}",
                        "/runs/" + run});
        for (int k = 0; k < tasks_per_run; ++k) {
          const std::string task = run + "." + std::to_string(k);
          put_task(store, {task, run, k == 0 ? TaskKind::kTrain : (k % 2 ? TaskKind::kSample : TaskKind::kEval), "{}"});
          state.bind(1, states[rng() % 5]);
          state.bind(2, task);
          state.exec();
          state.reset();
        }
      }
      tx.commit();
    }
    fill_s = seconds_since(t0);
  }
  {
    Store reader((dir / "status.db").string());  // a fresh connection, as `repro status` opens
    std::vector<double> times;
    for (int i = 0; i < 7; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      const auto summary = runs_of_experiment(reader, "table3");
      times.push_back(seconds_since(t0));
      listed = summary.size();
    }
    query_max_s = times.front();  // the first, cold query
    std::sort(times.begin(), times.end());
    query_median_s = times[times.size() / 2];
  }
  if (static_cast<int64_t>(listed) != runs) {
    std::fprintf(stderr, "listed %zu runs, expected %lld\n", listed, static_cast<long long>(runs));
    return 1;
  }

  std::printf("bench_store  SQLite %s, WAL, synchronous=NORMAL, %u hardware threads, dir %s\n", sqlite3_libversion(),
              std::thread::hardware_concurrency(), dir.string().c_str());
  std::printf("| measurement | configuration | figure | target |\n|---|---|---|---|\n");
  std::printf(
      "| ingest events.jsonl | %d tasks x %lld log records x %zu keys = %lld metric rows, %.1f MiB of JSON | "
      "%.2f s (%.0f rows/s), db %.1f MiB | < 10 s |\n",
      ingest_tasks, static_cast<long long>(records_per_task), log_keys().size() + 1,
      static_cast<long long>(ingested_rows), static_cast<double>(file_bytes) / 1048576.0, ingest_s,
      static_cast<double>(ingested_rows) / ingest_s, ingest_db_mib);
  std::printf("| ingest again (nothing new) | same files | %.4f s | |\n", reingest_s);
  std::printf(
      "| fill the status database | %lld runs x %d tasks (half in another experiment), one transaction | %.2f s | |\n",
      static_cast<long long>(runs * 2), tasks_per_run, fill_s);
  std::printf(
      "| runs_of_experiment (task counts by state) | %lld runs, %lld tasks in the experiment | "
      "median %.1f ms, first %.1f ms | < 200 ms |\n",
      static_cast<long long>(runs), static_cast<long long>(runs * tasks_per_run), query_median_s * 1e3,
      query_max_s * 1e3);
  std::printf("peak RSS %.0f MiB\n", peak_rss_mib());
  fs::remove_all(dir);
  return 0;
}
