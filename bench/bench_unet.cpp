// Benchmark: ADM UNet training step (forward + backward + AdamW) and sampling step (forward +
// p_sample) throughput, for the 32x32 paper model and a small model. Prints a table.
//   bench_unet [--threads N] [--iters K] [--quick]
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "bench/bench_util.h"
#include "core/diffusion/gaussian_diffusion.h"
#include "core/diffusion/sampling.h"
#include "core/nn/unet.h"
#include "core/util/device.h"

using namespace repro::core;

namespace {

using repro::bench::peak_rss_mib;

template <typename F>
double time_per_iter(F&& f, int warmup, int iters) {
  for (int i = 0; i < warmup; ++i) f();
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < iters; ++i) f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / iters;
}

void run(const char* name, const UNetConfig& cfg, int train_batch, int sample_batch, int iters, int threads) {
  torch::manual_seed(0);
  UNetModel model(cfg);
  DiffusionConfig dc;
  dc.learn_sigma = cfg.learn_sigma;
  GaussianDiffusion diffusion(dc);
  const int64_t s = cfg.image_size;
  ModelFn fn = [&](const torch::Tensor& x, const torch::Tensor& t) { return model->forward(x, t); };

  model->train();
  torch::optim::AdamW opt(model->parameters(), torch::optim::AdamWOptions(1e-4).weight_decay(0.0));
  auto x0 = torch::rand({train_batch, 3, s, s}) * 2 - 1;
  auto t = torch::randint(0, 1000, {train_batch}, torch::kInt64);
  auto noise = torch::randn_like(x0);
  double train_s = time_per_iter(
      [&] {
        opt.zero_grad();
        auto terms = diffusion.training_losses(fn, x0, t, noise, torch::randn_like(noise), 0.1);
        terms.loss.mean().backward();
        opt.step();
      },
      1, iters);

  model->eval();
  auto respaced = diffusion.respaced("100");
  auto x = torch::randn({sample_batch, 3, s, s});
  auto ts = torch::full({sample_batch}, 50, torch::kInt64);
  double sample_s = time_per_iter(
      [&] {
        torch::NoGradGuard ng;
        x = p_sample(respaced, fn, x, ts, torch::randn_like(x), true);
      },
      1, iters);

  std::printf("| %-22s | %9.2fM | %7d | %11.2f | %8d | %12.2f | %7d | %9.0f |\n", name,
              static_cast<double>(parameter_count(*model)) / 1e6, train_batch, train_batch / train_s, sample_batch,
              sample_batch / sample_s, threads, peak_rss_mib());
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 0, iters = 3;
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--threads") && i + 1 < argc)
      threads = std::stoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--iters") && i + 1 < argc)
      iters = std::stoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--quick"))
      quick = true;
    else {
      std::fprintf(stderr, "usage: bench_unet [--threads N] [--iters K] [--quick]\n");
      return 2;
    }
  }
  threads = set_num_threads(threads);
  std::printf("bench_unet: LibTorch %s, device cpu, %d threads, %d timed iterations after 1 warm-up\n",
              libtorch_version().c_str(), threads, iters);
  std::printf(
      "train step = forward + backward + AdamW on the hybrid loss (gamma 0.1); sample step = forward + "
      "p_sample (learned range, 100 respaced steps)\n\n");
  std::printf("| %-22s | %10s | %7s | %11s | %8s | %12s | %7s | %9s |\n", "model", "params", "train B", "train img/s",
              "sample B", "sample img/s", "threads", "peak MiB");
  std::printf("|%s|%s|%s|%s|%s|%s|%s|%s|\n", std::string(24, '-').c_str(), std::string(12, '-').c_str(),
              std::string(9, '-').c_str(), std::string(13, '-').c_str(), std::string(10, '-').c_str(),
              std::string(14, '-').c_str(), std::string(9, '-').c_str(), std::string(11, '-').c_str());
  UNetConfig small = UNetConfig::paper_preset(32);
  small.num_channels = 64;
  small.num_head_channels = 32;
  small.dropout = 0.1;
  small.use_fp16 = false;
  run("small 32px (ch 64)", small, quick ? 4 : 32, quick ? 8 : 64, iters, threads);
  if (!quick) {
    UNetConfig paper = UNetConfig::paper_preset(32);
    paper.use_fp16 = false;
    run("paper 32px (CIFAR10)", paper, 8, 16, iters, threads);
  }
  return 0;
}
