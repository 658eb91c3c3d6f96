#include "runner/plan/run_history.h"

#include <nlohmann/json.hpp>

#include <algorithm>

#include "runner/plan/task_spec.h"
#include "store/inspect_queries.h"
#include "store/queries.h"

namespace repro::runner {

std::optional<double> seconds_per_step(const std::vector<std::pair<int64_t, double>>& step_times) {
  std::vector<double> rates;
  for (size_t i = 1; i < step_times.size(); ++i) {
    const int64_t steps = step_times[i].first - step_times[i - 1].first;
    if (steps > 0) rates.push_back((step_times[i].second - step_times[i - 1].second) / static_cast<double>(steps));
  }
  if (rates.empty()) return std::nullopt;
  std::nth_element(rates.begin(), rates.begin() + static_cast<std::ptrdiff_t>(rates.size() / 2), rates.end());
  return rates[rates.size() / 2];
}

namespace {

std::optional<MeasuredRate> train_rate(Store& store, const TaskSummary& t) {
  std::vector<std::pair<int64_t, double>> times;
  for (const auto& p : metric_curve(store, t.task_id, "time")) times.emplace_back(p.step, p.value);
  const auto s = seconds_per_step(times);
  if (!s || *s <= 0) return std::nullopt;
  return MeasuredRate{*s, times.back().first - times.front().first, t.task_id, ""};
}

std::optional<MeasuredRate> sample_rate(Store& store, const TaskSummary& t) {
  const SampleTaskSpec spec = parse_sample_spec(nlohmann::json::parse(t.spec), "task " + t.task_id);
  const int64_t forwards = sample_forwards(spec);
  for (const auto& a : attempts_of_task(store, t.task_id))
    if (a.exit_code == 0 && a.started && a.ended && *a.ended > *a.started && forwards > 0)
      return MeasuredRate{(*a.ended - *a.started) / static_cast<double>(forwards), forwards, t.task_id, ""};
  return std::nullopt;
}

RunHistory history_of(Store& store, const std::string& run_id) {
  RunHistory h;
  std::map<std::string, std::string> device;  // task id -> recorded device
  for (const auto& p : provenance_of_run(store, run_id)) {
    if (p.key == "device") device[p.task_id] = p.value;
    if (p.key == "data_fingerprint" && !p.value.empty()) h.data_fingerprint = p.value;  // the last task's
  }
  for (const auto& t : tasks_of_run(store, run_id)) {
    if (t.state != TaskState::kDone) continue;
    try {
      if (t.kind == TaskKind::kTrain && !h.train) h.train = train_rate(store, t);
      if (t.kind == TaskKind::kSample && !h.sample) h.sample = sample_rate(store, t);
    } catch (const std::exception&) {
      continue;  // a spec this version cannot read measures nothing
    }
  }
  if (h.train) h.train->device = device[h.train->task_id];
  if (h.sample) h.sample->device = device[h.sample->task_id];
  return h;
}

}  // namespace

std::map<std::string, RunHistory> run_history(Store& store, const std::vector<std::string>& run_ids) {
  std::map<std::string, RunHistory> out;
  for (const auto& id : run_ids)
    if (run_record(store, id)) out.emplace(id, history_of(store, id));
  return out;
}

}  // namespace repro::runner
