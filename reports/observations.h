#pragma once
// The evaluated numbers of an experiment, read from the store: each result row with the
// dimensions it belongs to (the run's matrix axes and the evaluation's own settings), its seed,
// and whether it may be set beside published numbers.
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "store/store.h"

namespace repro::reports {

struct Observation {
  std::string run_id;
  std::string result_id;
  std::string eval_task;    // "" when the result names no task
  std::string sample_task;  // the eval task's samples_of; "" when unknown
  std::string metric;
  double value = 0;
  // Axis -> label (every axis but seed), and iteration, steps, sampler, eta, ema, num_samples
  // from the sample task's spec (absent when the spec lacks them); eps_scale (eps_scale_text of
  // the spec's eps_scale_b and eps_scale_k, "1" where it has none) whenever there is a spec,
  // start_t only when the spec has one (a chain started from data); source (kSourceDimension:
  // released or trained) always. An axis of the same name wins.
  std::map<std::string, std::string> dims;
  std::string seed;           // the seed axis's label, else the sample task's seed; "" unknown
  bool comparable = true;     // recipe's comparable_with_published (false: random-weight features)
  int64_t num_samples = 0;    // 0 = unknown
  int64_t num_reference = 0;  // reference images behind the statistics (recipe); 0 = unknown
  // The recipe's data_subset as text ("reference batch: 64 of 10,000 images of DIR; training
  // data: ..."); "" = the whole data or not known.
  std::string data_subset;
  int64_t position = 0;  // the run's place in the matrix
  bool stale = false;    // the run is of an earlier expansion (docs/reports.md, Stale runs)
};

// Every result of the runs of `experiment`, stale runs' too, in matrix order, then result id,
// then metric.
std::vector<Observation> collect_observations(runner::Store& store, const std::string& experiment);

// What must agree among the runs of one cell: their resolved configs but for the seed.
struct RunConfig {
  // runs.config without train.seed; null when the config has no train.seed (not put by `repro
  // run`: its seed is not known, the run is not compared).
  nlohmann::json without_seed;
  double created = 0;    // when the run was first put: the newest config is the latest put
  int64_t position = 0;  // in the matrix
  bool stale = false;    // of an earlier expansion
};
using RunConfigs = std::map<std::string, RunConfig>;  // by run id

// Every run of `experiment`, stale ones too.
RunConfigs run_configs(runner::Store& store, const std::string& experiment);

// Dimension values compare as numbers when both read fully as numbers ("0.0" == "0",
// "2.0e-4" == "0.0002"), else as text.
bool dim_equal(const std::string& a, const std::string& b);
// Order of values within one dimension: numbers before text, numbers ascending, text ascending.
bool dim_less(const std::string& a, const std::string& b);

// A number in its shortest form that reads back to it ("3", "0.0002"); JSON scalars as text:
// scalar_text (json_text.h).
std::string format_number(double v);

}  // namespace repro::reports
