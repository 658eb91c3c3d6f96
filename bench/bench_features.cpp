// Benchmark: the FID Inception feature network on the CPU (seeded random weights; the speed does
// not depend on the values). Images/s at batch 64:
//   - FeatureExtractor end to end (uint8 32x32 NHWC -> TF1 resize to 299 -> network -> taps);
//   - the network alone on a [64, 3, 299, 299] input, contiguous (NCHW) vs channels_last;
// with 1 and 2 LibTorch threads.   bench_features [--batches K]
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>

#include "bench/bench_util.h"
#include "metrics/inception/feature_extractor.h"

using namespace repro;

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int batches = 3;
  if (argc > 2 && std::strcmp(argv[1], "--batches") == 0) batches = std::atoi(argv[2]);
  const int64_t batch = 64;
  std::vector<uint8_t> images(static_cast<size_t>(batch) * 32 * 32 * 3);
  std::mt19937 rng(3);
  for (auto& x : images) x = static_cast<uint8_t>(rng());
  torch::NoGradGuard no_grad;

  std::printf("| path | batch | threads | memory format | images/s (median of %d batches) |\n", batches);
  std::printf("|---|---:|---:|---|---:|\n");
  for (int threads : {1, 2}) {
    torch::set_num_threads(threads);
    metrics::FeatureExtractorOptions o;
    o.batch_size = batch;
    metrics::FeatureExtractor extractor(o);
    std::vector<double> rates;
    for (int i = 0; i <= batches; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      extractor.compute(images.data(), batch, 32, 32, 3);
      if (i > 0) rates.push_back(batch / bench::seconds_since(t0));  // the first warms up
    }
    std::printf("| FeatureExtractor (uint8 32x32 in) | %lld | %d | contiguous | %.1f |\n",
                static_cast<long long>(batch), threads, median(rates));
    std::fflush(stdout);

    metrics::FidInceptionV3& net = extractor.network();
    const torch::Tensor x = torch::randn({batch, 3, 299, 299});
    for (bool channels_last : {false, true}) {
      if (channels_last) {
        for (auto& p : net->parameters())
          if (p.dim() == 4) p.set_data(p.contiguous(torch::MemoryFormat::ChannelsLast));
      }
      const torch::Tensor input = channels_last ? x.contiguous(torch::MemoryFormat::ChannelsLast) : x;
      rates.clear();
      for (int i = 0; i <= batches; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        net->forward(input);
        if (i > 0) rates.push_back(batch / bench::seconds_since(t0));
      }
      std::printf("| network forward (299x299 in) | %lld | %d | %s | %.1f |\n", static_cast<long long>(batch), threads,
                  channels_last ? "channels_last" : "contiguous", median(rates));
      std::fflush(stdout);
    }
  }
  std::printf("\npeak RSS %.0f MiB\n", bench::peak_rss_mib());
  return 0;
}
