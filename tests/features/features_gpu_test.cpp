// The feature network on CUDA gives the CPU's features (float32 on both: no TF32), the gpu tier's
// FeaturesGpu suite, skipped with a message where CUDA is absent; and, on any machine, TF32 is off
// while features are computed and the global flags are as they were afterwards.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <random>
#include <vector>

#include "metrics/inception/feature_extractor.h"
#include "metrics/inception/inception_weights.h"

using namespace repro::metrics;

namespace {

// `n` images of h x w x 3 bytes, uniform from a fixed seed.
std::vector<uint8_t> random_images(int64_t n, int64_t h, int64_t w) {
  std::mt19937 rng(20230717);
  std::uniform_int_distribution<int> byte(0, 255);
  std::vector<uint8_t> images(static_cast<size_t>(n * h * w * 3));
  for (auto& b : images) b = static_cast<uint8_t>(byte(rng));
  return images;
}

InceptionFeatures features_on(const std::string& device, const std::vector<uint8_t>& images, int64_t n, int64_t size,
                              const FeatureProgress& progress = {}) {
  FeatureExtractorOptions options;
  options.weights = kRandomInception;
  options.batch_size = 4;  // two batches for n = 6
  options.device = device;
  FeatureExtractor extractor(options);
  return extractor.compute(images.data(), n, size, size, 3, {}, progress);
}

// max |a - b| over max |a|: one tolerance for taps of any scale.
double relative_difference(const RowMatrixXf& a, const RowMatrixXf& b) {
  EXPECT_EQ(a.rows(), b.rows());
  EXPECT_EQ(a.cols(), b.cols());
  const double scale = static_cast<double>(a.cwiseAbs().maxCoeff());
  EXPECT_GT(scale, 0.0) << "all-zero features compare nothing";
  return static_cast<double>((a - b).cwiseAbs().maxCoeff()) / scale;
}

}  // namespace

// Float32 on both devices agrees to float rounding; TF32 convolutions (a 10-bit mantissa) would
// be off by about 1e-3.
TEST(FeaturesGpu, CudaMatchesCpu) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "CUDA is not available: the CPU-vs-CUDA feature parity needs a GPU";
  const int64_t n = 6, size = 32;
  const auto images = random_images(n, size, size);
  const InceptionFeatures cpu = features_on("cpu", images, n, size);
  const InceptionFeatures cuda = features_on("cuda", images, n, size);
  EXPECT_LT(relative_difference(cpu.pool_3, cuda.pool_3), 2e-4);
  EXPECT_LT(relative_difference(cpu.spatial, cuda.spatial), 2e-4);
  EXPECT_LT(relative_difference(cpu.logits, cuda.logits), 2e-4);
}

TEST(FeaturesFloat32, Tf32IsOffWhileComputingAndRestoredAfter) {
  auto& context = at::globalContext();
  const bool cudnn = context.allowTF32CuDNN(), cublas = context.allowTF32CuBLAS();
  context.setAllowTF32CuDNN(true);
  context.setAllowTF32CuBLAS(true);
  const int64_t n = 2, size = 8;
  std::vector<bool> during;
  features_on("cpu", random_images(n, size, size), n, size, [&](int64_t, int64_t) {
    during.push_back(context.allowTF32CuDNN());
    during.push_back(context.allowTF32CuBLAS());
  });
  EXPECT_EQ(during, std::vector<bool>(2, false));
  EXPECT_TRUE(context.allowTF32CuDNN());
  EXPECT_TRUE(context.allowTF32CuBLAS());
  context.setAllowTF32CuDNN(cudnn);
  context.setAllowTF32CuBLAS(cublas);
}
