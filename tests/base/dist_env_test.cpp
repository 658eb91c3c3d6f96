// Where a process sits in a data-parallel run, read from torchrun's and Slurm's variables.
#include <gtest/gtest.h>

#include <map>

#include "base/train/dist_env.h"
#include "base/util/errors.h"
#include "tests/support/test_support.h"

using namespace repro;
using core::dist_env_from_environment;

namespace {
auto env_of(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}
}  // namespace

TEST(DistEnv, NoVariablesIsOneProcess) {
  auto e = dist_env_from_environment(env_of({}));
  EXPECT_FALSE(e.distributed());
  EXPECT_EQ(e.rank, 0);
  EXPECT_EQ(e.world_size, 1);
  EXPECT_EQ(e.source, "single");
}

TEST(DistEnv, TorchrunVariables) {
  auto e = dist_env_from_environment(env_of({{"RANK", "3"},
                                             {"WORLD_SIZE", "4"},
                                             {"LOCAL_RANK", "1"},
                                             {"MASTER_ADDR", "10.0.0.7"},
                                             {"MASTER_PORT", "29600"}}));
  EXPECT_EQ(e.rank, 3);
  EXPECT_EQ(e.world_size, 4);
  EXPECT_EQ(e.local_rank, 1);
  EXPECT_EQ(e.source, "env");
  EXPECT_EQ(e.master_addr, "10.0.0.7");
  EXPECT_EQ(e.master_port, 29600);
  EXPECT_TRUE(e.store_file.empty());
  // Without LOCAL_RANK the rank is the local rank (one node); without MASTER_PORT torch's 29500.
  auto f = dist_env_from_environment(env_of({{"RANK", "1"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}}));
  EXPECT_EQ(f.local_rank, 1);
  EXPECT_EQ(f.master_port, 29500);
}

TEST(DistEnv, TorchrunAgentStoreAndOneNode) {
  auto e = dist_env_from_environment(env_of({{"RANK", "1"},
                                             {"WORLD_SIZE", "2"},
                                             {"LOCAL_WORLD_SIZE", "2"},
                                             {"MASTER_ADDR", "n1"},
                                             {"TORCHELASTIC_USE_AGENT_STORE", "True"},
                                             {"TORCHELASTIC_RESTART_COUNT", "3"}}));
  EXPECT_TRUE(e.single_node);
  EXPECT_TRUE(e.agent_store);
  EXPECT_EQ(e.restart_count, 3);
  auto f = dist_env_from_environment(
      env_of({{"RANK", "1"}, {"WORLD_SIZE", "4"}, {"LOCAL_WORLD_SIZE", "2"}, {"MASTER_ADDR", "n1"}}));
  EXPECT_FALSE(f.single_node);
  EXPECT_FALSE(f.agent_store);
}

TEST(DistEnv, StoreFileWinsOverTcp) {
  auto e = dist_env_from_environment(
      env_of({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"REPRO_DIST_STORE_FILE", "/tmp/x/store"}, {"MASTER_ADDR", "h"}}));
  EXPECT_EQ(e.store_file, "/tmp/x/store");
  EXPECT_NE(e.describe().find("file store /tmp/x/store"), std::string::npos) << e.describe();
}

TEST(DistEnv, SlurmVariablesWithDerivedRendezvous) {
  auto e = dist_env_from_environment(env_of({{"SLURM_PROCID", "1"},
                                             {"SLURM_NTASKS", "8"},
                                             {"SLURM_STEP_NUM_TASKS", "2"},
                                             {"SLURM_LOCALID", "1"},
                                             {"SLURM_JOB_ID", "123456"},
                                             {"SLURM_STEP_NODELIST", "gpu[07-08]"}}));
  EXPECT_EQ(e.source, "slurm");
  EXPECT_EQ(e.rank, 1);
  EXPECT_EQ(e.world_size, 2);  // the step's tasks, not the job's
  EXPECT_EQ(e.local_rank, 1);
  EXPECT_EQ(e.master_addr, "gpu07");
  EXPECT_EQ(e.master_port, 15000 + 123456 % 20000);
  EXPECT_FALSE(e.single_node);  // no SLURM_STEP_NUM_NODES: assume several
  // A batch script without srun: one process, whatever the job's task count.
  auto batch = dist_env_from_environment(env_of({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "4"}, {"SLURM_JOB_ID", "5"}}));
  EXPECT_FALSE(batch.distributed());
  // torchrun's variables take precedence over Slurm's (torchrun inside an allocation).
  auto t = dist_env_from_environment(
      env_of({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "1"}, {"RANK", "0"}, {"WORLD_SIZE", "1"}}));
  EXPECT_EQ(t.source, "env");
}

TEST(DistEnv, FirstSlurmHost) {
  EXPECT_EQ(core::first_slurm_host("node1"), "node1");
  EXPECT_EQ(core::first_slurm_host("node1,node2"), "node1");
  EXPECT_EQ(core::first_slurm_host("gpu[03-05,9],cpu1"), "gpu03");
  EXPECT_EQ(core::first_slurm_host("a[7,9]b"), "a7b");
  EXPECT_EQ(core::first_slurm_host("rack[2-3]-n[01-04]"), "rack2-n01");
}

TEST(DistEnv, BadValuesNameTheVariable) {
  auto msg = [](std::map<std::string, std::string> vars) {
    return test::error_message([&] { dist_env_from_environment(env_of(vars)); });
  };
  EXPECT_NE(msg({{"RANK", "x"}, {"WORLD_SIZE", "2"}}).find("RANK"), std::string::npos);
  EXPECT_NE(msg({{"RANK", "2"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}}).find("[0, 2)"), std::string::npos);
  EXPECT_NE(msg({{"RANK", "0"}, {"WORLD_SIZE", "0"}}).find("WORLD_SIZE"), std::string::npos);
  EXPECT_NE(msg({{"RANK", "0"}, {"WORLD_SIZE", "2"}}).find("MASTER_ADDR"), std::string::npos);
  EXPECT_NE(
      msg({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "70000"}}).find("MASTER_PORT"),
      std::string::npos);
  EXPECT_NE(msg({{"REPRO_DIST_TIMEOUT", "0"}}).find("REPRO_DIST_TIMEOUT"), std::string::npos);
}
