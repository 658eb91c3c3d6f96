// Benchmark: whole training steps through core::Trainer (data source, schedule sampler, hybrid
// loss with input perturbation, backward, AdamW, EMA, logging) on synthetic 32x32 data.
//   bench_train [--steps K] [--quick] [--device cpu|cuda]
// Prints one row per (model, threads or precision, EMA): the median images/s of the timed steps.
// On CUDA the rows are fp32, fp16 (loss scaling) and bf16 torsos at the paper's per-GPU batch.
#include <sys/resource.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "base/util/npy.h"
#include "core/train/trainer.h"
#include "core/util/device.h"
#include "core/util/tensor_npy.h"
#include "train_data/image_sources.h"

using namespace repro::core;
namespace fs = std::filesystem;

namespace {

double median_images_per_sec(const std::string& events_path) {
  std::vector<double> v;
  std::ifstream in(events_path);
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line);
    if (j["type"] == "log" && j["step"].get<int64_t>() > 1) v.push_back(j["images_per_sec"].get<double>());
  }
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void run(const char* name, const UNetConfig& model, int batch, int steps, int threads, bool ema,
         const std::string& data, const fs::path& scratch, torch::Device device = torch::kCPU,
         const std::string& precision = "fp32") {
  set_num_threads(threads);
  TrainConfig cfg;
  cfg.method = "adm-ip";
  cfg.batch_size = batch;
  cfg.iterations = steps + 1;  // the first step warms up
  cfg.log_interval = 1;
  cfg.save_interval = 1000000;
  cfg.ema_rate = ema ? std::vector<double>{0.9999} : std::vector<double>{};
  DiffusionConfig diffusion;
  diffusion.learn_sigma = model.learn_sigma;
  const auto run_dir = scratch / (std::string(name) + std::to_string(threads) + precision + (ema ? "e" : "n"));
  fs::remove_all(run_dir);
  repro::train_data::NpzImageSource source(data, true, 0);
  TrainerOptions options{run_dir.string(), device, nullptr, {}};
  options.precision = precision;
  Trainer trainer(model, diffusion, cfg, source, options);
  trainer.run(false);
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  // On CUDA the memory column is the process's peak host RSS too; the threads column names the torso.
  const std::string how = device.is_cuda() ? precision : std::to_string(threads);
  std::printf("| %-22s | %9.2fM | %5d | %7s | %3s | %9.2f | %9.0f |\n", name,
              static_cast<double>(parameter_count(*trainer.model())) / 1e6, batch, how.c_str(), ema ? "yes" : "no",
              median_images_per_sec((run_dir / "events.jsonl").string()), static_cast<double>(u.ru_maxrss) / 1024.0);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  int steps = 3;
  bool quick = false;
  std::string device_name = "cpu";
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--steps") && i + 1 < argc)
      steps = std::stoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--quick"))
      quick = true;
    else if (!std::strcmp(argv[i], "--device") && i + 1 < argc)
      device_name = argv[++i];
    else {
      std::fprintf(stderr, "usage: bench_train [--steps K] [--quick] [--device cpu|cuda]\n");
      return 2;
    }
  }
  const bool cuda = device_name == "cuda";
  std::string where = "cpu";
  if (cuda) {
    try {
      where = select_device("cuda").description;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "bench_train: %s\n", e.what());
      return 2;
    }
  }
  const auto scratch = fs::temp_directory_path() / "repro-bench-train";
  fs::create_directories(scratch);
  const std::string data = (scratch / "data.npz").string();
  torch::manual_seed(0);
  repro::write_npz(data, {{"arr_0", to_npy(torch::randint(0, 256, {256, 32, 32, 3}, torch::kUInt8))}});

  std::printf(
      "bench_train: LibTorch %s, %s, adm-ip (gamma 0.1), loss-second-moment, AdamW; median of %d timed steps\n\n",
      libtorch_version().c_str(), where.c_str(), steps);
  std::printf("| %-22s | %10s | %5s | %7s | %3s | %9s | %9s |\n", "model", "params", "batch",
              cuda ? "torso" : "threads", "EMA", "img/s", "peak MiB");
  std::printf("|------------------------|------------|-------|---------|-----|-----------|-----------|\n");
  UNetConfig small = UNetConfig::paper_preset(32);
  small.num_channels = 64;
  small.use_fp16 = false;
  UNetConfig paper = UNetConfig::paper_preset(32);
  paper.use_fp16 = false;
  if (cuda) {
    // The paper's CIFAR10 run: global batch 128 on 2 GPUs, so 64 per GPU; the small model at 64.
    for (const char* precision : {"fp32", "fp16", "bf16"}) {
      run("small 32px (ch 64)", small, 64, steps, 4, true, data, scratch, torch::Device(torch::kCUDA, 0), precision);
      if (!quick)
        run("paper 32px (CIFAR10)", paper, 64, steps, 4, true, data, scratch, torch::Device(torch::kCUDA, 0),
            precision);
    }
    fs::remove_all(scratch);
    return 0;
  }
  for (int threads : {1, 2})
    for (bool ema : {false, true}) run("small 32px (ch 64)", small, 32, steps, threads, ema, data, scratch);
  if (!quick)
    for (int threads : {1, 2})
      for (bool ema : {false, true}) run("paper 32px (CIFAR10)", paper, 8, steps, threads, ema, data, scratch);
  fs::remove_all(scratch);
  return 0;
}
