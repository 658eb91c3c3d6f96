// Where evaluation runs: the feature batch sized for the device, the eval task on the device
// `auto` selects (the CPU on a machine without CUDA) with its provenance saying so, and
// `repro eval --device cuda` without CUDA refused with a clear message and exit 2. The CUDA side
// is the gpu tier's (tests/features/features_gpu_test.cpp).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <sstream>

#include "base/util/exit_code.h"
#include "base/util/npy.h"
#include "core/util/device.h"
#include "runner/plan/task_spec.h"
#include "tasks/eval_common.h"
#include "tasks/run_task.h"
#include "tests/support/task_file_writer.h"
#include "tests/support/test_support.h"

using namespace repro;
using nlohmann::json;
namespace fs = std::filesystem;

TEST(EvalDevice, FeatureBatchIsTheEvalBatchOnTheCpuAndLargerOnCuda) {
  const torch::Device cpu(torch::kCPU), cuda(torch::kCUDA, 0);
  EXPECT_EQ(tasks::feature_batch_for(cpu, 64), 64);
  EXPECT_EQ(tasks::feature_batch_for(cpu, 500), 500);
  EXPECT_EQ(tasks::feature_batch_for(cuda, 64), tasks::kCudaFeatureBatch);
  EXPECT_EQ(tasks::feature_batch_for(cuda, 500), 500);
  EXPECT_EQ(tasks::kCudaFeatureBatch, 256);
}

// An eval task (Inception Score only: no reference batch) on a machine without CUDA: `auto`
// resolves to the CPU, and the start record's provenance names the CPU and the feature batch.
TEST(EvalDevice, EvalTaskRunsOnTheCpuWithoutCudaAndSaysSo) {
  if (core::cuda_available()) GTEST_SKIP() << "a GPU is present: the task would evaluate there";
  test::TempDir dir;
  fs::create_directories(dir.file("r1/samples"));
  ASSERT_TRUE(test::write_numpy_images(dir, "r1/samples/r1-sample-a.npz", 4, 3));
  runner::EvalTaskSpec spec;
  spec.batch_size = 3;  // two feature batches
  spec.features = "random-inception";
  spec.metrics = {"is"};
  spec.samples_of = "r1-sample-a";
  const std::string path = test::write_task_file(dir, "r1-eval-a", "eval", json::parse(runner::spec_text(spec)));
  std::ostringstream err;
  ASSERT_EQ(tasks::run_task(path, {/*threads=*/2, {}}, err), to_int(ExitCode::kOk)) << err.str();
  json start, result;
  for (const auto& e : test::read_events(dir.file("r1/tasks/r1-eval-a.events.jsonl"))) {
    if (e.value("type", "") == "start") start = e;
    if (e.value("type", "") == "result") result = e;
  }
  EXPECT_EQ(start["provenance"].value("device", "").rfind("cpu (", 0), 0u) << start.dump();
  EXPECT_EQ(start["provenance"].value("feature_batch", ""), "3");
  ASSERT_TRUE(result.contains("metrics")) << result.dump();
  EXPECT_GE(result["metrics"].value("is", 0.0), 1.0) << result.dump();  // exp(mean KL) >= 1
}

TEST(EvalDevice, CudaRequestedWithoutAGpuIsRefusedClearly) {
  if (core::cuda_available()) GTEST_SKIP() << "a GPU is present";
  if (!fs::exists(test::repro_binary())) GTEST_SKIP() << "build the repro target first: " << test::repro_binary();
  test::TempDir dir;
  ASSERT_TRUE(test::write_numpy_images(dir, "s.npz", 2, 1));
  for (const std::string& args :
       {"eval --ref " + dir.file("s.npz") + " --samples " + dir.file("s.npz") + " --features random-inception",
        "eval ref " + dir.file("s.npz") + " --out " + dir.file("ref.npz") + " --features random-inception"}) {
    std::string out;
    EXPECT_EQ(test::repro_cli(args + " --device cuda", &out), to_int(ExitCode::kConfig)) << out;
    EXPECT_NE(out.find("--device"), std::string::npos) << out;
    EXPECT_NE(out.find("CUDA is not available"), std::string::npos) << out;
  }
  EXPECT_FALSE(fs::exists(dir.file("ref.npz")));
}
