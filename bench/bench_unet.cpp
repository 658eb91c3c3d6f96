// Benchmark: ADM UNet training step (forward + backward + AdamW) and sampling step (forward +
// p_sample) throughput, for the 32x32 paper model and a small model. Prints a table.
//   bench_unet [--device cpu|cuda] [--precision fp32|fp16|bf16] [--threads N] [--iters K] [--quick]
//              [--model small|paper|all] [--sample-only] [--profile] [--reference SCRIPT]
// --precision: the UNet torso in that type, as the trainer and sampler run it (MixedPrecision with
//   float32 masters; fp16 needs CUDA). --sample-only skips the training column. --profile adds,
//   per model, the forward alone vs the whole p_sample step and the ops that took the step's time.
// --reference SCRIPT (bench/p_sample_reference.py): after each model, the same p_sample step of the
//   Python replica, same model, batch, threads and iterations, run by $REPRO_PYTHON or
//   /usr/bin/python3 (CPU only). Exit 2 on bad arguments or --device cuda without CUDA.
#include <sys/resource.h>
#include <torch/csrc/autograd/profiler_legacy.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "core/diffusion/gaussian_diffusion.h"
#include "core/diffusion/sampling.h"
#include "core/nn/unet.h"
#include "core/train/mixed_precision.h"
#include "core/util/device.h"

using namespace repro::core;

namespace {

using repro::bench::peak_rss_mib;

struct Options {
  torch::Device device = torch::kCPU;
  std::string precision = "fp32";
  int threads = 0;  // 0 = all cores
  int iters = 3;
  bool quick = false;
  bool sample_only = false;
  bool profile = false;
  std::string model = "all";  // small | paper | all (paper is skipped by --quick)
  std::string reference;      // bench/p_sample_reference.py, or empty
};

torch::ScalarType torso_type(const std::string& precision) {
  if (precision == "fp16") return torch::kHalf;
  if (precision == "bf16") return torch::kBFloat16;
  return torch::kFloat32;
}

void synchronize(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize();
}

// Median seconds per call of f over `iters` timed calls after `warmup` untimed ones (the median:
// other processes on a shared machine slow single calls); CUDA work is finished before each clock read.
template <typename F>
double time_per_iter(const torch::Device& device, F&& f, int warmup, int iters) {
  for (int i = 0; i < warmup; ++i) f();
  std::vector<double> seconds;
  for (int i = 0; i < iters; ++i) {
    synchronize(device);
    const auto t0 = std::chrono::steady_clock::now();
    f();
    synchronize(device);
    seconds.push_back(repro::bench::seconds_since(t0));
  }
  std::sort(seconds.begin(), seconds.end());
  return seconds[seconds.size() / 2];
}

// One training step as the Trainer takes it: masters, loss scaling for fp16, AdamW on the masters.
double time_train_step(UNetModel model, const GaussianDiffusion& diffusion, int batch, const Options& o) {
  const auto dtype = torso_type(o.precision);
  MixedPrecision mp(model, dtype, /*loss_scaling=*/dtype == torch::kHalf);
  torch::optim::AdamW opt(mp.master_params(), torch::optim::AdamWOptions(1e-4).weight_decay(0.0));
  ModelFn fn = [&](const torch::Tensor& x, const torch::Tensor& t) { return model->forward(x, t).to(torch::kFloat32); };
  const int64_t s = model->config().image_size;
  auto f32 = torch::TensorOptions().device(o.device);
  auto x0 = torch::rand({batch, 3, s, s}, f32) * 2 - 1;
  auto t = torch::randint(0, 1000, {batch}, f32.dtype(torch::kInt64));
  auto noise = torch::randn_like(x0);
  model->train();
  const double sec = time_per_iter(
      o.device,
      [&] {
        opt.zero_grad();
        model->zero_grad();
        auto terms = diffusion.training_losses(fn, x0, t, noise, torch::randn_like(noise), 0.1);
        mp.scale_loss(terms.loss.mean()).backward();
        double norm = 0;
        if (mp.grads_to_master(&norm)) {
          opt.step();
          mp.masters_to_model();
        }
      },
      1, o.iters);
  model->eval();
  return sec;
}

struct SampleBench {
  ModelFn fn;
  GaussianDiffusion respaced;
  torch::Tensor x, t;
};

SampleBench make_sample_bench(UNetModel model, const GaussianDiffusion& diffusion, int batch, const Options& o) {
  const int64_t s = model->config().image_size;
  ModelFn fn = [model](const torch::Tensor& x, const torch::Tensor& t) mutable {
    return model->forward(x, t).to(torch::kFloat32);
  };
  auto x = torch::randn({batch, 3, s, s}).to(o.device);
  auto t = torch::full({batch}, 50, torch::TensorOptions().dtype(torch::kInt64).device(o.device));
  return {fn, diffusion.respaced("100"), x, t};
}

// One reverse step as sample_loop takes it (InferenceMode, one BLAS thread, a fresh z, x fed back).
double time_sample_step(SampleBench& b, const Options& o) {
  c10::InferenceMode guard;
  SingleThreadedBlas one_blas_thread;
  return time_per_iter(
      o.device, [&] { b.x = p_sample(b.respaced, b.fn, b.x, b.t, torch::randn_like(b.x), true).sample; }, 1, o.iters);
}

double time_forward(SampleBench& b, const Options& o) {
  c10::InferenceMode guard;
  SingleThreadedBlas one_blas_thread;
  auto tm = b.respaced.model_timesteps(b.t);
  return time_per_iter(
      o.device, [&] { b.fn(b.x, tm); }, 1, o.iters);
}

// Self time per op name of one p_sample step (LibTorch's legacy profiler), largest first.
void print_profile(SampleBench& b) {
  using namespace torch::autograd::profiler;
  c10::InferenceMode guard;
  SingleThreadedBlas one_blas_thread;
  b.x = p_sample(b.respaced, b.fn, b.x, b.t, torch::randn_like(b.x), true).sample;  // warm
  enableProfilerLegacy(torch::profiler::impl::ProfilerConfig(torch::profiler::impl::ProfilerState::CPU));
  b.x = p_sample(b.respaced, b.fn, b.x, b.t, torch::randn_like(b.x), true).sample;
  const thread_event_lists lists = disableProfilerLegacy();
  std::map<std::string, std::pair<double, int>> self;  // name -> (self us, calls)
  double total = 0;
  for (const auto& events : lists) {
    std::vector<std::pair<const LegacyEvent*, double>> stack;  // open range, children's time
    for (const auto& e : events) {
      if (e.kind() == EventKind::PushRange) {
        stack.emplace_back(&e, 0.0);
      } else if (e.kind() == EventKind::PopRange && !stack.empty()) {
        const auto [start, children] = stack.back();
        stack.pop_back();
        const double us = start->cpuElapsedUs(e);
        auto& entry = self[start->name()];
        entry.first += us - children;
        entry.second += 1;
        if (stack.empty())
          total += us;
        else
          stack.back().second += us;
      }
    }
  }
  std::vector<std::pair<std::string, std::pair<double, int>>> rows(self.begin(), self.end());
  std::sort(rows.begin(), rows.end(), [](const auto& l, const auto& r) { return l.second.first > r.second.first; });
  std::printf("  ops of one p_sample step (self time, %.1f ms in ops):\n", total / 1e3);
  for (size_t i = 0; i < std::min<size_t>(rows.size(), 14); ++i)
    std::printf("    %-28s %8.1f ms %5.1f%% %5d calls\n", rows[i].first.c_str(), rows[i].second.first / 1e3,
                100.0 * rows[i].second.first / total, rows[i].second.second);
}

// The Python replica's p_sample img/s on the same model, batch, threads and iterations; < 0 if it
// could not run.
double reference_img_per_s(const Options& o, const char* model, int batch, int threads) {
  const char* py = std::getenv("REPRO_PYTHON");
  const std::string cmd = std::string(py ? py : "/usr/bin/python3") + " '" + o.reference + "' --model " + model +
                          " --batch " + std::to_string(batch) + " --threads " + std::to_string(threads) + " --iters " +
                          std::to_string(o.iters);
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return -1;
  char line[512];
  double rate = -1;
  while (std::fgets(line, sizeof line, p)) {
    if (const char* at = std::strstr(line, "img_per_s=")) rate = std::atof(at + std::strlen("img_per_s="));
  }
  return pclose(p) == 0 ? rate : -1;
}

// One table row (and the Python replica's row with --reference, its ratio added to `notes`).
void run(const char* name, const char* ref_name, const UNetConfig& cfg, int train_batch, int sample_batch,
         const Options& o, int threads, std::vector<std::string>& notes) {
  torch::manual_seed(0);
  UNetModel model(cfg);
  model->to(o.device);
  DiffusionConfig dc;
  dc.learn_sigma = cfg.learn_sigma;
  GaussianDiffusion diffusion(dc);
  const double train_s = o.sample_only ? 0.0 : time_train_step(model, diffusion, train_batch, o);
  // The training step's MixedPrecision converted the torso already; the sampler converts it alone.
  if (o.sample_only && o.precision != "fp32") model->convert_torso(torso_type(o.precision));
  model->eval();
  auto b = make_sample_bench(model, diffusion, sample_batch, o);
  const double sample_s = time_sample_step(b, o);
  char train_col[32] = "-";
  if (!o.sample_only) std::snprintf(train_col, sizeof train_col, "%.2f", train_batch / train_s);
  std::printf("| %-24s | %9.2fM | %-9s | %7d | %11s | %8d | %12.2f | %7d | %9.0f |\n", name,
              static_cast<double>(parameter_count(*model)) / 1e6, o.precision.c_str(), train_batch, train_col,
              sample_batch, sample_batch / sample_s, threads, peak_rss_mib());
  std::fflush(stdout);
  if (!o.reference.empty() && !o.device.is_cuda()) {
    const double ref = reference_img_per_s(o, ref_name, sample_batch, threads);
    std::printf("| %-24s | %10s | %-9s | %7s | %11s | %8d | %12.2f | %7d | %9s |\n", "  Python replica (ref.)", "",
                "fp32", "", "", sample_batch, ref, threads, "");
    std::fflush(stdout);
    char note[160];
    std::snprintf(note, sizeof note, "%s: C++ p_sample %.2f img/s = %.2fx the Python replica's %.2f", name,
                  sample_batch / sample_s, ref > 0 ? (sample_batch / sample_s) / ref : 0.0, ref);
    notes.emplace_back(note);
  }
  if (o.profile) {
    const double fwd_s = time_forward(b, o);
    std::printf("  forward alone %.1f ms, p_sample step %.1f ms: %.1f ms (%.1f%%) outside the forward\n", fwd_s * 1e3,
                sample_s * 1e3, (sample_s - fwd_s) * 1e3, 100.0 * (sample_s - fwd_s) / sample_s);
    if (!o.device.is_cuda()) print_profile(b);
    std::fflush(stdout);
  }
}

const char* kUsage =
    "usage: bench_unet [--device cpu|cuda] [--precision fp32|fp16|bf16] [--threads N] [--iters K] [--quick]\n"
    "                  [--model small|paper|all] [--sample-only] [--profile]\n"
    "                  [--reference bench/p_sample_reference.py]\n";

// Returns false on a bad argument.
bool parse(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    const bool has_value = i + 1 < argc;
    if (!std::strcmp(argv[i], "--threads") && has_value) {
      o.threads = std::atoi(argv[++i]);
    } else if (!std::strcmp(argv[i], "--iters") && has_value) {
      o.iters = std::max(1, std::atoi(argv[++i]));
    } else if (!std::strcmp(argv[i], "--device") && has_value) {
      const std::string d = argv[++i];
      if (d != "cpu" && d != "cuda") return false;
      o.device = d == "cuda" ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
    } else if (!std::strcmp(argv[i], "--precision") && has_value) {
      o.precision = argv[++i];
      if (o.precision != "fp32" && o.precision != "fp16" && o.precision != "bf16") return false;
    } else if (!std::strcmp(argv[i], "--model") && has_value) {
      o.model = argv[++i];
      if (o.model != "small" && o.model != "paper" && o.model != "all") return false;
    } else if (!std::strcmp(argv[i], "--reference") && has_value) {
      o.reference = argv[++i];
    } else if (!std::strcmp(argv[i], "--quick")) {
      o.quick = true;
    } else if (!std::strcmp(argv[i], "--sample-only")) {
      o.sample_only = true;
    } else if (!std::strcmp(argv[i], "--profile")) {
      o.profile = true;
    } else {
      return false;
    }
  }
  return true;
}

void print_header(const Options& o, int threads) {
  std::printf(
      "bench_unet: LibTorch %s, device %s, precision %s, %d threads, median of %d timed iterations after 1 warm-up\n",
      libtorch_version().c_str(), o.device.str().c_str(), o.precision.c_str(), threads, o.iters);
  std::printf(
      "train step = forward + backward + AdamW on the hybrid loss (gamma 0.1); sample step = forward + "
      "p_sample (learned range, 100 respaced steps, InferenceMode)\n\n");
  std::printf("| %-24s | %10s | %-9s | %7s | %11s | %8s | %12s | %7s | %9s |\n", "model", "params", "precision",
              "train B", "train img/s", "sample B", "sample img/s", "threads", "peak MiB");
  std::printf("|%s|%s|%s|%s|%s|%s|%s|%s|%s|\n", std::string(26, '-').c_str(), std::string(12, '-').c_str(),
              std::string(11, '-').c_str(), std::string(9, '-').c_str(), std::string(13, '-').c_str(),
              std::string(10, '-').c_str(), std::string(14, '-').c_str(), std::string(9, '-').c_str(),
              std::string(11, '-').c_str());
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!parse(argc, argv, o)) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  if (o.device.is_cuda() && !cuda_available()) {
    std::fprintf(stderr, "bench_unet: --device cuda requested but CUDA is not available (LibTorch %s sees no GPU)\n",
                 libtorch_version().c_str());
    return 2;
  }
  if (o.precision == "fp16" && !o.device.is_cuda()) {
    std::fputs("bench_unet: --precision fp16 needs --device cuda (LibTorch has no float16 CPU convolution)\n", stderr);
    return 2;
  }
  const int threads = set_num_threads(o.threads);
  print_header(o, threads);
  UNetConfig small = UNetConfig::paper_preset(32);
  small.num_channels = 64;
  small.num_head_channels = 32;
  small.dropout = 0.1;
  small.use_fp16 = false;
  std::vector<std::string> notes;
  if (o.model != "paper")
    run("small 32px (ch 64)", "small", small, o.quick ? 4 : 32, o.quick ? 8 : 64, o, threads, notes);
  if (!o.quick && o.model != "small") {
    UNetConfig paper = UNetConfig::paper_preset(32);
    paper.use_fp16 = false;
    run("paper 32px (CIFAR10)", "paper", paper, 8, 16, o, threads, notes);
  }
  if (!notes.empty()) std::printf("\n");
  for (const auto& n : notes) std::printf("%s\n", n.c_str());
  return 0;
}
