#pragma once
// A private one-node Slurm cluster for one test binary (tests/support/slurm_cluster.sh), started
// before the first test and stopped after the last; SLURM_CONF points the Slurm programs (and so
// the SlurmExecutor) at it. Tests derive from SlurmTest, which skips with the reason when there
// is no cluster (not root, Slurm not installed, the daemons did not come up).
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <string>

#include "tests/support/test_support.h"

namespace repro::test {

class SlurmCluster : public ::testing::Environment {
 public:
  static SlurmCluster& get() {
    static SlurmCluster* c = [] {
      auto* env = new SlurmCluster;
      ::testing::AddGlobalTestEnvironment(env);  // gtest owns it
      return env;
    }();
    return *c;
  }
  bool up() const { return up_; }
  const std::string& why_not() const { return why_not_; }
  const std::string& dir() const { return dir_; }

  void SetUp() override {
    if (::geteuid() != 0) {
      why_not_ = "the Slurm tests need root (slurmd runs the jobs as the submitting user)";
      return;
    }
    for (const char* p : {"/usr/sbin/slurmctld", "/usr/sbin/slurmd", "/usr/sbin/munged", "/usr/bin/sbatch"})
      if (::access(p, X_OK) != 0) {
        why_not_ = std::string(p) + " is missing (apt-get install slurm-wlm slurmctld slurmd slurm-client munge)";
        return;
      }
    char tmpl[] = "/tmp/repro-slurm-XXXXXX";  // short: munged's socket path must fit 108 bytes
    if (!::mkdtemp(tmpl)) {
      why_not_ = "cannot create a folder for the cluster under /tmp";
      return;
    }
    dir_ = tmpl;
    std::string out;
    const int rc = run_command(script() + " start " + dir_, &out);
    if (rc != 0) {
      why_not_ = "the test cluster did not start (exit " + std::to_string(rc) + "): " + out;
      return;
    }
    ::setenv("SLURM_CONF", (dir_ + "/slurm.conf").c_str(), 1);
    up_ = true;
  }

  void TearDown() override {
    if (dir_.empty()) return;
    std::string out;
    run_command(script() + " stop " + dir_, &out);
  }

 private:
  // Through bash: the script need not keep its executable bit.
  static std::string script() { return "bash " + source_dir() + "/tests/support/slurm_cluster.sh"; }
  bool up_ = false;
  std::string why_not_ = "the cluster environment did not run";
  std::string dir_;
};

// Registered before main's RUN_ALL_TESTS (gtest_main), in every binary that includes this header.
inline SlurmCluster& g_slurm_cluster = SlurmCluster::get();

class SlurmTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!SlurmCluster::get().up()) GTEST_SKIP() << "no Slurm test cluster: " << SlurmCluster::get().why_not();
  }
};

}  // namespace repro::test
