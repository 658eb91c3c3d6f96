#pragma once
// A project directory for orchestrator tests with fake tasks (fake_task.h): the control folder
// the fake task reads its orders from, the project folder, and OrchestratorOptions pointing at
// both. Shared by the local and the Slurm orchestrator tests.
#include <filesystem>
#include <string>

#include "runner/orchestrate/orchestrator.h"
#include "tests/runner/fake_task.h"
#include "tests/support/test_support.h"

namespace repro::test {

struct FakeProject {
  // poll_s / ingest_s: the orchestrator's intervals (a Slurm cluster is polled less often).
  explicit FakeProject(double poll_s = 0.05, double ingest_s = 0.1) : poll_s_(poll_s), ingest_s_(ingest_s) {
    ctl = dir.file("ctl");
    project = dir.file("project");
    std::filesystem::create_directories(ctl);
    std::filesystem::create_directories(project);
    db = project + "/repro.db";
    binary = write_fake_task(dir.path().string());
  }
  runner::OrchestratorOptions options() const {
    runner::OrchestratorOptions o;
    o.project_dir = project;
    o.repro_binary = binary;
    o.poll_interval_s = poll_s_;
    o.ingest_interval_s = ingest_s_;
    o.retry.backoff_s = 0.3;
    o.env["FAKE_CTL"] = ctl;
    return o;
  }
  // Writes an order file for the fake tasks (fake_task.h).
  void set(const std::string& name, const std::string& text) const { write_text(ctl + "/" + name, text); }

  TempDir dir;
  std::string ctl, project, db, binary;

 private:
  double poll_s_, ingest_s_;
};

}  // namespace repro::test
