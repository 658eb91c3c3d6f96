#pragma once
// Plans for the orchestrator's tests: a train task per run and optionally a sample task after it,
// with specs that the fake tasks (tests/runner/fake_task.h) and the fake executor accept.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "runner/orchestrate/orchestrator.h"

namespace repro::test {

// A task of `run`; `spec` is compact JSON, as stored.
inline runner::TaskSpec task_spec(const std::string& id, const std::string& run, const std::string& kind,
                                  std::vector<std::string> depends_on, const std::string& spec) {
  runner::TaskSpec t;
  t.task_id = id;
  t.run_id = run;
  t.kind = kind;
  t.depends_on = std::move(depends_on);
  t.spec = spec;
  return t;
}

// Per run r, in order: "r-train" (10 iterations) and, with_sample, "r-sample" (50 steps) after it.
inline runner::Plan fake_plan(const std::vector<std::string>& runs, bool with_sample,
                              const std::string& experiment = "fake") {
  runner::Plan p;
  p.experiment = {experiment, "fake.yaml", std::string(64, '0')};
  int64_t position = 0;
  for (const auto& r : runs) {
    p.runs.push_back({r, {{"cell", r}}, position++, R"({"seed":0})"});
    p.tasks.push_back(task_spec(r + "-train", r, "train", {}, R"({"iterations":10})"));
    if (with_sample) p.tasks.push_back(task_spec(r + "-sample", r, "sample", {r + "-train"}, R"({"steps":50})"));
  }
  return p;
}

}  // namespace repro::test
