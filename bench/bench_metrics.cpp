// Benchmark: the metrics mathematics (repro_metrics) at the evaluator's sizes. Prints a table with
// the configuration, one row per (step, threads):
//   - statistics: FeatureStats::add of N x D float32 features (batches of 1,000) + covariance();
//   - FID: frechet_distance of two full-rank D x D statistics (Cholesky route), and the eigenvector
//     route that rank-deficient statistics take (trace_sqrt_product with TraceSqrtMethod::kEigen);
//   - precision/recall: compute_prec_recall of N x N x D features, float16 emulation (the
//     reference's default) and float32, blocks of 10,000 x 10,000;
//   - IS: compute_inception_score of N x 1008 logits (splits of 5000);
//   - TF1 resize: inception_input of N 32x32x3 uint8 images to 299x299.
// Threads are OpenBLAS's (openblas_set_num_threads); the steps that do not call BLAS run on one
// thread whatever the setting.
//   bench_metrics [--threads 1,2] [--dim 2048] [--stats-rows 50000] [--pr-rows 10000]
//                 [--is-rows 50000] [--resize-images 1000] [--only stats,fid,pr16,pr32,is,resize]
#include <sys/resource.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "metrics/blas.h"
#include "metrics/feature_stats.h"
#include "metrics/fid.h"
#include "metrics/inception_score.h"
#include "metrics/precision_recall.h"
#include "metrics/tf1_resize.h"

using namespace repro::metrics;

namespace {

using repro::bench::peak_rss_mib;
using repro::bench::seconds_since;

// Features that look like pool_3 activations: non-negative, correlated across dimensions (a random
// low-rank mix plus noise), so that the covariances are full rank but far from diagonal.
RowMatrixXf synthetic_features(int64_t n, int64_t d, uint64_t seed, float shift = 0.0f) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const int64_t r = 64;
  RowMatrixXf z(n, r), mix(r, d);
  for (int64_t i = 0; i < z.size(); ++i) z.data()[i] = normal(rng);
  std::mt19937_64 mix_rng(12345);  // the same mix for every set
  for (int64_t i = 0; i < mix.size(); ++i) mix.data()[i] = 0.1f * normal(mix_rng);
  RowMatrixXf x = z * mix;
  for (int64_t i = 0; i < x.size(); ++i) {
    const float v = x.data()[i] + 0.3f * normal(rng) + 0.4f + shift;
    x.data()[i] = v > 0.0f ? v : 0.0f;
  }
  return x;
}

std::vector<int> parse_list(const std::string& s) {
  std::vector<int> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) out.push_back(std::stoi(item));
  return out;
}

bool wanted(const std::string& only, const std::string& step) {
  if (only.empty()) return true;
  return ("," + only + ",").find("," + step + ",") != std::string::npos;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> threads = {1, 2};
  int64_t dim = 2048, stats_rows = 50000, pr_rows = 10000, is_rows = 50000, resize_images = 1000;
  std::string only;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "bench_metrics: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--threads")
      threads = parse_list(next());
    else if (a == "--dim")
      dim = std::stoll(next());
    else if (a == "--stats-rows")
      stats_rows = std::stoll(next());
    else if (a == "--pr-rows")
      pr_rows = std::stoll(next());
    else if (a == "--is-rows")
      is_rows = std::stoll(next());
    else if (a == "--resize-images")
      resize_images = std::stoll(next());
    else if (a == "--only")
      only = next();
    else {
      std::fprintf(stderr,
                   "usage: bench_metrics [--threads 1,2] [--dim D] [--stats-rows N] [--pr-rows N] [--is-rows N]\n"
                   "                     [--resize-images N] [--only stats,fid,pr16,pr32,is,resize]\n");
      return 2;
    }
  }
  std::printf(
      "bench_metrics: BLAS %s, D %lld, statistics %lld rows, P/R %lld x %lld, IS %lld x 1008, resize %lld "
      "images 32x32 -> 299x299\n",
      blas::backend().c_str(), static_cast<long long>(dim), static_cast<long long>(stats_rows),
      static_cast<long long>(pr_rows), static_cast<long long>(pr_rows), static_cast<long long>(is_rows),
      static_cast<long long>(resize_images));
  std::fflush(stdout);

  struct Row {
    std::string step;
    int threads;
    double seconds;
    std::string note;
  };
  std::vector<Row> rows;
  auto report = [&](const Row& r) {
    rows.push_back(r);
    std::printf("  %-40s threads %d  %9.3f s  %s\n", r.step.c_str(), r.threads, r.seconds, r.note.c_str());
    std::fflush(stdout);
  };

  // Inputs shared by the thread counts (generated once, not timed).
  RowMatrixXf stats_input, pr_ref, pr_sample;
  FidStatistics fid_a, fid_b;
  if (wanted(only, "stats")) stats_input = synthetic_features(stats_rows, dim, 1);
  if (wanted(only, "fid")) {
    // Statistics of two different 10,000-feature sets: full rank, as real ones.
    fid_a = compute_statistics(synthetic_features(10000, dim, 2));
    fid_b = compute_statistics(synthetic_features(10000, dim, 3, 0.05f));
  }
  if (wanted(only, "pr16") || wanted(only, "pr32")) {
    pr_ref = synthetic_features(pr_rows, dim, 4);
    pr_sample = synthetic_features(pr_rows, dim, 5, 0.05f);
  }

  for (int t : threads) {
    blas::set_num_threads(t);
    if (wanted(only, "stats")) {
      const auto t0 = std::chrono::steady_clock::now();
      FeatureStats s(dim);
      for (int64_t b = 0; b < stats_rows; b += 1000)
        s.add(stats_input.middleRows(b, std::min<int64_t>(1000, stats_rows - b)));
      const Eigen::MatrixXd sigma = s.covariance();
      const double sec = seconds_since(t0);
      char note[96];
      std::snprintf(note, sizeof(note), "%.0f rows/s (tr %.4g)", static_cast<double>(stats_rows) / sec, sigma.trace());
      report({"statistics " + std::to_string(stats_rows) + " x " + std::to_string(dim), t, sec, note});
    }
    if (wanted(only, "fid")) {
      const auto t0 = std::chrono::steady_clock::now();
      const double fid = frechet_distance(fid_a, fid_b);
      char note[64];
      std::snprintf(note, sizeof(note), "FID %.6f", fid);
      report({"FID D = " + std::to_string(dim), t, seconds_since(t0), note});
      // The route taken for rank-deficient or ill-conditioned covariances (eigenvectors of S1).
      const auto t1 = std::chrono::steady_clock::now();
      const double tr = trace_sqrt_product(fid_a.sigma, fid_b.sigma, TraceSqrtMethod::kEigen);
      std::snprintf(note, sizeof(note), "FID %.6f",
                    (fid_a.mu - fid_b.mu).squaredNorm() + fid_a.sigma.trace() + fid_b.sigma.trace() - 2.0 * tr);
      report({"FID D = " + std::to_string(dim) + ", eigenvector route", t, seconds_since(t1), note});
    }
    for (const auto& [step, precision] :
         {std::pair<std::string, DistancePrecision>{"pr16", DistancePrecision::kFloat16WithFloat32Fallback},
          std::pair<std::string, DistancePrecision>{"pr32", DistancePrecision::kFloat32}}) {
      if (!wanted(only, step)) continue;
      ManifoldEstimatorOptions options;
      options.precision = precision;
      const auto t0 = std::chrono::steady_clock::now();
      const PrecisionRecall pr = compute_prec_recall(pr_ref, pr_sample, options);
      char note[96];
      std::snprintf(note, sizeof(note), "precision %.4f recall %.4f", pr.precision, pr.recall);
      report({std::string("P/R ") + (step == "pr16" ? "fp16 emulation " : "fp32 ") + std::to_string(pr_rows) + " x " +
                  std::to_string(pr_rows) + " x " + std::to_string(dim),
              t, seconds_since(t0), note});
    }
  }

  // Steps that do not use BLAS: one thread.
  if (wanted(only, "is")) {
    const RowMatrixXf logits = synthetic_features(is_rows, 1008, 6) * 4.0f;
    const auto t0 = std::chrono::steady_clock::now();
    const double is = compute_inception_score(logits);
    char note[64];
    std::snprintf(note, sizeof(note), "IS %.4f (no BLAS)", is);
    report({"IS " + std::to_string(is_rows) + " x 1008", 1, seconds_since(t0), note});
  }
  if (wanted(only, "resize")) {
    std::vector<uint8_t> images(static_cast<size_t>(resize_images) * 32 * 32 * 3);
    std::mt19937 rng(7);
    for (auto& p : images) p = static_cast<uint8_t>(rng() & 0xff);
    const auto t0 = std::chrono::steady_clock::now();
    const std::vector<float> out = inception_input(images.data(), resize_images, 32, 32);
    const double sec = seconds_since(t0);
    char note[64];
    std::snprintf(note, sizeof(note), "%.0f images/s (no BLAS)", static_cast<double>(resize_images) / sec);
    report({"TF1 resize " + std::to_string(resize_images) + " x 32x32 -> 299x299", 1, sec, note});
  }

  std::printf("\n| step | threads | seconds | note |\n|---|---|---|---|\n");
  for (const Row& r : rows)
    std::printf("| %s | %d | %.3f | %s |\n", r.step.c_str(), r.threads, r.seconds, r.note.c_str());
  std::printf("\npeak RSS %.0f MiB\n", peak_rss_mib());
  return 0;
}
