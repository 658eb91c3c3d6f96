#include "runner/plan/cost_estimate.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <iterator>
#include <sstream>
#include <tuple>
#include <unordered_map>

#include "base/nn/unet_param_count.h"
#include "base/train/keep_policy.h"
#include "runner/plan/throughput.h"

namespace repro::runner {

CheckpointBytes checkpoint_bytes(int64_t parameters) {
  constexpr int64_t kFloat32 = 4;
  return {parameters * kFloat32, parameters * kFloat32, 2 * parameters * kFloat32};
}

int64_t kept_checkpoint_bytes(const CheckpointBytes& files, size_t ema_rates, int64_t save_interval, int64_t iterations,
                              const std::vector<int64_t>& evaluated, const std::string& keep) {
  const auto saved = core::saved_steps(save_interval, iterations);
  if (saved.empty()) return 0;
  const core::KeepPlan plan = core::keep_plan(keep, saved, evaluated, saved.back());
  const int64_t per_step = files.model + static_cast<int64_t>(ema_rates) * files.ema;
  // Keeping everything prunes nothing: every saved step keeps its optimizer too.
  const size_t optimizers = plan.keep_everything ? saved.size() : plan.optimizer_step > 0 ? 1 : 0;
  return static_cast<int64_t>(plan.model_steps.size()) * per_step + static_cast<int64_t>(optimizers) * files.optimizer;
}

int64_t sample_npz_bytes(int64_t num_samples, int image_size, int channels) {
  return num_samples * image_size * image_size * channels + kNpzOverheadBytes;
}

int64_t exposure_file_bytes(int64_t steps) { return 512 * steps + int64_t{16} * 1024; }

std::string bytes_text(int64_t bytes) {
  static const char* const kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(bytes);
  size_t unit = 0;
  while (v >= 1024 && unit + 1 < std::size(kUnits)) v /= 1024, ++unit;
  if (unit == 0) return std::to_string(bytes) + " B";
  // Fixed notation, never an exponent: 3 significant digits below 1000, whole units from 1000 to
  // 1023. What rounds up to 1024 is the next unit's 1 (1023.7 KiB -> "1 MiB").
  auto decimals = [](double x) { return x < 10 ? 2 : x < 100 ? 1 : 0; };
  if (std::round(v) >= 1024 && unit + 1 < std::size(kUnits)) v /= 1024, ++unit;
  char text[64];
  std::snprintf(text, sizeof(text), "%.*f", decimals(v), v);
  std::string s = text;
  if (s.find('.') != std::string::npos) {  // "1.50" -> "1.5", "2.00" -> "2"
    s.erase(s.find_last_not_of('0') + 1);
    if (s.back() == '.') s.pop_back();
  }
  return s + " " + kUnits[unit];
}

std::string to_string(CostSource s) {
  switch (s) {
    case CostSource::kMeasured:
      return "measured";
    case CostSource::kEstimate:
      return "estimate";
    case CostSource::kUnknown:
      break;
  }
  return "unknown";
}

namespace {

// What a run's tasks share: its config, model size and the measurements that apply to it.
struct RunFacts {
  const PlannedRun* run = nullptr;
  int64_t parameters = 0;
  const Throughput* row = nullptr;
  std::optional<MeasuredRate> train, sample;
  std::vector<int64_t> evaluated;  // checkpoint steps its sample tasks read
};

using TrainShape = std::tuple<int64_t, int, int, int, std::string>;  // parameters, size, batch, world, method
using SampleShape = std::pair<int64_t, int>;                         // parameters, size

TrainShape train_shape(const RunFacts& f) {
  const auto& t = f.run->train.train;
  return {f.parameters, f.run->train.model.image_size, t.batch_size, t.planned_world_size(), t.method};
}
SampleShape sample_shape(const RunFacts& f) { return {f.parameters, f.run->train.model.image_size}; }

std::string hours_text(double seconds, const MeasuredRate& m, const char* unit) {
  std::ostringstream s;
  s.precision(3);
  s << seconds << " s/" << unit << " over " << m.units << " " << unit << "s of " << m.task_id
    << (m.device.empty() ? "" : " (" + m.device + ")");
  return s.str();
}

// The runs of the plan with their measurements, own or borrowed from a run of the same shape.
std::unordered_map<std::string, RunFacts> run_facts(const std::vector<PlannedRun>& runs,
                                                    const std::vector<TaskSpec>& tasks,
                                                    const std::map<std::string, RunHistory>& history) {
  std::unordered_map<std::string, RunFacts> facts;
  std::map<TrainShape, MeasuredRate> train_by_shape;
  std::map<SampleShape, MeasuredRate> sample_by_shape;
  for (const auto& r : runs) {
    if (facts.count(r.run_id)) continue;
    RunFacts& f = facts[r.run_id];
    f.run = &r;
    f.parameters = core::unet_parameter_count(r.train.model);
    f.row = throughput_for(r.train.model.image_size, f.parameters);
    if (const auto h = history.find(r.run_id); h != history.end()) {
      f.train = h->second.train, f.sample = h->second.sample;
      if (f.train) train_by_shape.emplace(train_shape(f), *f.train);
      if (f.sample) sample_by_shape.emplace(sample_shape(f), *f.sample);
    }
  }
  for (auto& [id, f] : facts) {
    if (!f.train)
      if (const auto it = train_by_shape.find(train_shape(f)); it != train_by_shape.end()) f.train = it->second;
    if (!f.sample)
      if (const auto it = sample_by_shape.find(sample_shape(f)); it != sample_by_shape.end()) f.sample = it->second;
  }
  for (const auto& t : tasks)
    if (t.kind == "sample") facts.at(t.run_id).evaluated.push_back(t.sample_spec().checkpoint_step);
  return facts;
}

void set_hours(TaskCost& c, CostSource source, double gpu_seconds, std::string detail) {
  c.source = source;
  c.gpu_hours = gpu_seconds / 3600;
  c.hours = *c.gpu_hours / c.gpus;
  c.detail = std::move(detail);
}

TaskCost train_cost(const RunFacts& f, const TaskSpec& t) {
  TaskCost c;
  const auto& tc = f.run->train.train;
  const int64_t steps = t.train_spec().iterations;
  c.gpus = t.processes;
  if (f.train)
    set_hours(c, CostSource::kMeasured, static_cast<double>(steps) * f.train->seconds * c.gpus,
              hours_text(f.train->seconds, *f.train, "step"));
  else if (f.row)
    set_hours(
        c, CostSource::kEstimate,
        static_cast<double>(steps) * tc.batch_size * c.gpus * method_cost_factor(tc.method) / f.row->train_images_per_s,
        f.row->model + ", " + f.row->source + (method_cost_factor(tc.method) != 1 ? ", x3 for adm-gp" : ""));
  else
    c.detail = "no throughput for this model (" + std::to_string(f.parameters) + " parameters); none measured";
  const CheckpointBytes files = checkpoint_bytes(f.parameters);
  c.disk_bytes = kept_checkpoint_bytes(files, tc.ema_rate.size(), tc.save_interval, steps, f.evaluated, tc.keep);
  c.disk_bytes_keep_all = kept_checkpoint_bytes(files, tc.ema_rate.size(), tc.save_interval, steps, f.evaluated, "all");
  return c;
}

// Per UNet forward pass (sample_forwards): a chain from data runs start_t steps, an exposure task
// 2 or 3 forwards per step and image.
TaskCost sample_cost(const RunFacts& f, const SampleTaskSpec& s) {
  TaskCost c;
  const double forwards = static_cast<double>(sample_forwards(s));
  if (f.sample)
    set_hours(c, CostSource::kMeasured, forwards * f.sample->seconds,
              hours_text(f.sample->seconds, *f.sample, "image-step"));
  else if (f.row)
    set_hours(c, CostSource::kEstimate, forwards / f.row->sample_forwards_per_s, f.row->model + ", " + f.row->source);
  else
    c.detail = "no throughput for this model (" + std::to_string(f.parameters) + " parameters); none measured";
  const auto& model = f.run->train.model;
  c.disk_bytes = s.exposure_num > 0 ? exposure_file_bytes(s.start_t > 0 ? s.start_t : s.steps)
                                    : sample_npz_bytes(s.num_samples, model.image_size, model.in_channels);
  return c;
}

void add_to_totals(CostTotals& totals, const TaskSpec& t, const TaskCost& c, bool exposure) {
  ++totals.tasks;
  if (c.source == CostSource::kMeasured) totals.gpu_hours_measured += *c.gpu_hours;
  if (c.source == CostSource::kEstimate) totals.gpu_hours_estimate += *c.gpu_hours;
  if (c.source == CostSource::kUnknown) ++totals.unknown;
  if (t.kind == "train") {
    totals.checkpoint_bytes += c.disk_bytes;
    totals.checkpoint_bytes_keep_all += c.disk_bytes_keep_all;
  } else if (t.kind == "sample" && exposure) {
    totals.exposure_bytes += c.disk_bytes;
    ++totals.exposure_files;
  } else if (t.kind == "sample") {
    totals.sample_bytes += c.disk_bytes;
    ++totals.sample_files;
  }
}

}  // namespace

CostEstimate estimate_cost(const std::vector<PlannedRun>& runs, const std::vector<TaskSpec>& tasks,
                           const std::vector<bool>& to_run, const std::map<std::string, RunHistory>& history) {
  const auto facts = run_facts(runs, tasks, history);
  std::unordered_map<std::string, int64_t> samples_of;  // sample task id -> num_samples
  CostEstimate out;
  out.tasks.reserve(tasks.size());
  for (size_t i = 0; i < tasks.size(); ++i) {
    const TaskSpec& t = tasks[i];
    const RunFacts& f = facts.at(t.run_id);
    TaskCost c;
    bool exposure = false;
    if (t.kind == "train") {
      c = train_cost(f, t);
    } else if (t.kind == "sample") {
      const SampleTaskSpec s = t.sample_spec();
      samples_of[t.task_id] = s.num_samples;
      exposure = s.exposure_num > 0;
      c = sample_cost(f, s);
    } else {
      const int64_t n = samples_of[t.eval_spec().samples_of];
      set_hours(c, CostSource::kEstimate, static_cast<double>(n) / kEvalImagesPerSecond, kEvalThroughputSource);
    }
    if (i < to_run.size() && to_run[i]) add_to_totals(out.totals, t, c, exposure);
    out.tasks.push_back(std::move(c));
  }
  return out;
}

}  // namespace repro::runner
