#pragma once
// A store filled the way `repro run` fills it, for the reports tests: an experiment over
// method x seed on one dataset, train/sample/eval tasks per run, results at two checkpoints and
// two step counts, provenance, attempts and a loss curve.
#include <SQLiteCpp/Statement.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "base/util/file_io.h"
#include "config/strict_yaml.h"
#include "reports/report.h"
#include "reports/report_spec.h"
#include "store/records.h"
#include "store/store.h"
#include "tests/support/test_support.h"

namespace repro::test {

struct FakeResult {
  std::string method;
  std::string seed;
  int64_t iteration = 0;
  int steps = 0;
  std::map<std::string, double> metrics;
  bool comparable = true;
  int64_t num_samples = 1000;
  int64_t num_reference = 0;   // the recipe's num_reference; 0 = not recorded
  nlohmann::json data_subset;  // the recipe's data_subset; null = not recorded
};

// The eval recipe of a fake result: comparability, and the reference count and data subset when
// recorded.
inline nlohmann::json recipe_of(const FakeResult& r) {
  nlohmann::json recipe = {{"comparable_with_published", r.comparable}, {"features", "test"}};
  if (r.num_reference > 0) recipe["num_reference"] = r.num_reference;
  if (!r.data_subset.is_null()) recipe["data_subset"] = r.data_subset;
  return recipe;
}

// Puts one experiment (`name`, axes dataset x method x seed) with the given results. Run ids are
// "<method>-s<seed>"; run directories under `root`.
inline void fill_store(runner::Store& store, const std::string& name, const std::vector<FakeResult>& results,
                       const std::string& root, const std::string& dataset = "cifar10") {
  using nlohmann::json;
  runner::put_experiment(store, {name, "experiments/" + name + ".yaml", std::string(64, 'a')});
  std::map<std::string, int> position;
  for (const auto& r : results) {
    const std::string run = r.method + "-s" + r.seed;
    if (!position.count(run)) {
      const int p = static_cast<int>(position.size());
      position[run] = p;
      json axes = {{"dataset", dataset}, {"method", r.method}, {"seed", r.seed}};
      runner::put_run(store, {run, name, axes.dump(), p, json{{"run", run}}.dump(), root + "/" + run});
      runner::put_task(store, {run + "-train", run, runner::TaskKind::kTrain, "{}"});
      runner::set_task_state(store, run + "-train", runner::TaskState::kDone);
      // 1 h on GPU 0 for the first run of each method's seed 0, CPU otherwise.
      const int a = runner::begin_attempt(
          store, {run + "-train", runner::ExecutorKind::kLocal, "1", "host", r.seed == "0" ? "0" : "", "log", 1000.0});
      runner::end_attempt(store, run + "-train", a, {0, "", 1000.0 + 3600.0 + 60 * p});
      runner::put_provenance(store, run, "",
                             {{"git_commit", "0123456789abcdef0123"},
                              {"libtorch_version", "1.13.1"},
                              {"device", "cpu"},
                              {"data_fingerprint", "fp-" + dataset}});
      SQLite::Statement ins(store.db(),
                            "INSERT INTO metrics (task_id, name, step, value, seq) VALUES (?, 'loss', ?, ?, ?)");
      for (int step = 0; step <= 1000; step += 100) {
        ins.bind(1, run + "-train");
        ins.bind(2, step);
        ins.bind(3, 1.0 / (1 + step / 100.0) + (r.method == "adm" ? 0.05 : 0.0));
        ins.bind(4, step);
        ins.exec();
        ins.reset();
      }
    }
    const std::string settings = std::to_string(r.iteration) + "-" + std::to_string(r.steps);
    const std::string sample = run + "-sample-" + settings, eval = run + "-eval-" + settings;
    json sspec = {{"checkpoint_step", r.iteration},
                  {"ema", "0.9999"},
                  {"steps", r.steps},
                  {"sampler", "ancestral"},
                  {"eta", 0.0},
                  {"num_samples", r.num_samples},
                  {"batch_size", 64},
                  {"seed", std::stoi(r.seed)}};
    runner::put_task(store, {sample, run, runner::TaskKind::kSample, sspec.dump()});
    runner::put_task(store,
                     {eval, run, runner::TaskKind::kEval, json{{"samples_of", sample}, {"metrics", {"fid"}}}.dump()});
    for (const auto& [metric, value] : r.metrics)
      runner::put_result(store, {eval, run, eval, metric, value, recipe_of(r).dump()});
  }
}

inline reports::ReportSpec spec_from(const std::string& yaml,
                                     const std::vector<std::string>& axes = {"dataset", "method", "seed"}) {
  return reports::read_report_spec(config::load_yaml_string(yaml, "golden.yaml"), "golden.yaml", axes);
}

// Compares `text` with tests/reports/golden/<name>; REPRO_UPDATE_GOLDEN=1 rewrites the file instead.
inline void expect_golden(const std::string& name, const std::string& text) {
  const std::string path = std::string(REPRO_SOURCE_DIR) + "/tests/reports/golden/" + name;
  const char* update = std::getenv("REPRO_UPDATE_GOLDEN");
  if (update && std::string(update) == "1") {
    write_file_atomic(path, text);
    GTEST_SKIP() << "rewrote " << path;
  }
  std::string expected;
  try {
    expected = read_file(path);
  } catch (const std::exception& e) {
    FAIL() << e.what() << " (create it with REPRO_UPDATE_GOLDEN=1)";
  }
  EXPECT_EQ(text, expected)
      << "golden file " << path
      << " differs; if the change is intended, rerun with REPRO_UPDATE_GOLDEN=1 and review the diff";
}

}  // namespace repro::test
