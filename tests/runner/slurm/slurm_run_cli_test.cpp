// `repro run --executor slurm` end to end on the one-node cluster: a run with train.world_size 2
// is one job whose script starts the real trainer as two srun ranks (SLURM_PROCID), which meet
// through the Slurm-derived rendezvous and train together on CPUs (Gloo).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "tests/runner/slurm/slurm_cluster.h"
#include "tests/support/test_support.h"
#include "tests/support/world_size_experiment.h"

namespace repro {
namespace {

namespace fs = std::filesystem;
using test::SlurmTest;

TEST_F(SlurmTest, ADataParallelRunTrainsAsTwoSrunRanks) {
  test::TempDir dir;
  ASSERT_TRUE(test::write_world_size_experiment(dir));
  const std::string run = "run " + dir.file("exp.yaml") + " --project " + dir.file("proj") + " --executor slurm";
  std::string out;
  ASSERT_EQ(test::repro_cli(run + " --dry-run --json", &out), 0) << out;
  const std::string id = nlohmann::json::parse(out)["runs"][0]["run_id"];
  ASSERT_EQ(test::repro_cli(run, &out), 0) << out;

  const fs::path run_dir = fs::path(dir.file("proj")) / "runs" / id;
  EXPECT_TRUE(fs::exists(run_dir / "checkpoints" / "model000004.pt"));
  std::ifstream resolved(run_dir / "config.resolved.json");
  EXPECT_EQ(nlohmann::json::parse(resolved)["train"]["world_size"], 2);
  std::string logs, scripts;
  for (const auto& e : fs::directory_iterator(run_dir / "logs"))
    (e.path().extension() == ".sbatch" ? scripts : logs) += test::read_text(e.path().string());
  EXPECT_NE(scripts.find("srun --ntasks=2 "), std::string::npos) << scripts;
  EXPECT_NE(logs.find("rank 0 of 2 (slurm"), std::string::npos) << logs;
  EXPECT_EQ(logs.find("launching 2 ranks"), std::string::npos) << logs;  // srun started them, not repro
}

}  // namespace
}  // namespace repro
