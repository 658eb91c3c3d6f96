// Frechet distance: closed forms, and the evaluator's frechet_distance (scipy.linalg.sqrtm)
// transcribed to numpy/scipy on full-rank and rank-deficient covariances.
#include "metrics/fid.h"

#include <gtest/gtest.h>

#include <Eigen/QR>
#include <cmath>
#include <iostream>
#include <tuple>

#include "base/util/errors.h"
#include "tests/metrics/metrics_test_util.h"
#include "tests/support/test_support.h"

namespace repro::metrics {
namespace {

Eigen::MatrixXd random_rotation(int64_t d, uint64_t seed) {
  const RowMatrixXf g = test_util::random_features(d, d, seed);
  Eigen::HouseholderQR<Eigen::MatrixXd> qr(g.cast<double>());
  return qr.householderQ();
}

TEST(Fid, IdenticalStatisticsGiveZero) {
  for (int64_t n : {500, 20}) {  // full rank and rank 19 < D = 32
    const FidStatistics s = compute_statistics(test_util::random_features(n, 32, 3));
    const double fid = frechet_distance(s, s);
    EXPECT_NEAR(fid, 0.0, 1e-10 * s.sigma.trace()) << "n = " << n;
  }
}

TEST(Fid, DiagonalGaussiansMatchClosedFormAlsoAfterRotation) {
  // Commuting covariances: tr sqrt(S1 S2) = sum_i sqrt(a_i b_i), so
  // FID = |mu1 - mu2|^2 + sum_i (a_i + b_i - 2 sqrt(a_i b_i)) = |mu1 - mu2|^2 + sum_i (sqrt a_i - sqrt b_i)^2.
  const int64_t d = 40;
  FidStatistics s1, s2;
  s1.mu = Eigen::VectorXd::LinSpaced(d, -1.0, 1.0);
  s2.mu = Eigen::VectorXd::LinSpaced(d, 0.5, -0.3);
  Eigen::VectorXd a(d), b(d);
  for (int64_t i = 0; i < d; ++i) {
    a(i) = 0.1 + 0.05 * static_cast<double>(i);
    b(i) = (i % 5 == 0) ? 0.0 : 2.0 / static_cast<double>(1 + i);  // some zero variances: singular S2
  }
  s1.sigma = a.asDiagonal();
  s2.sigma = b.asDiagonal();
  const double expected = (s1.mu - s2.mu).squaredNorm() + (a.cwiseSqrt() - b.cwiseSqrt()).squaredNorm();
  EXPECT_NEAR(frechet_distance(s1, s2), expected, 1e-12 * expected);

  const Eigen::MatrixXd q = random_rotation(d, 11);
  FidStatistics r1{q * s1.mu, q * s1.sigma * q.transpose()};
  FidStatistics r2{q * s2.mu, q * s2.sigma * q.transpose()};
  r1.sigma = 0.5 * (r1.sigma + r1.sigma.transpose());
  r2.sigma = 0.5 * (r2.sigma + r2.sigma.transpose());
  FrechetDiagnostics diag;
  EXPECT_NEAR(frechet_distance(r1, r2, &diag), expected, 1e-9 * expected);
  EXPECT_FALSE(diag.offset_added);
}

TEST(Fid, RejectsMismatchedOrNonFiniteStatistics) {
  FidStatistics a{Eigen::VectorXd::Zero(3), Eigen::MatrixXd::Identity(3, 3)};
  FidStatistics b{Eigen::VectorXd::Zero(4), Eigen::MatrixXd::Identity(4, 4)};
  EXPECT_EQ(test::error_message([&] { frechet_distance(a, b); }),
            "Training and test mean vectors have different lengths: (3,), (4,)");
  FidStatistics c{Eigen::VectorXd::Zero(3), Eigen::MatrixXd::Identity(4, 4)};
  EXPECT_THROW(frechet_distance(a, c), DataError);
  FidStatistics n = a;
  n.sigma(1, 1) = std::nan("");
  EXPECT_THROW(frechet_distance(a, n), DataError);
  // Covariances whose product overflows: not finite, retried with 1e-6 I, still not finite.
  FidStatistics huge{Eigen::VectorXd::Zero(3), Eigen::MatrixXd::Identity(3, 3) * 1e300};
  EXPECT_NE(test::error_message([&] {
              frechet_distance(huge, huge);
            }).find("fid calculation produces singular product; adding 1e-06 to diagonal of cov estimates"),
            std::string::npos);
}

TEST(Fid, CholeskyAndEigenRoutesAgree) {
  // Correlated full-rank covariances (the Cholesky route of kAuto), and a rank-deficient S1 with a
  // full-rank S2 (kAuto factors S2 instead): both equal the eigendecomposition route.
  const int64_t d = 96;
  const RowMatrixXf mix = test_util::random_features(d, d, 41, 0.3f);
  const RowMatrixXf mixer = RowMatrixXf::Identity(d, d) + mix;
  const FidStatistics full1 = compute_statistics(test_util::random_features(1000, d, 42) * mixer);
  const FidStatistics full2 = compute_statistics(test_util::random_features(1200, d, 43, 1.2f, 0.1f) * mixer);
  const FidStatistics low = compute_statistics(test_util::random_features(50, d, 44) * mixer);  // rank 49
  for (const auto& [s1, s2, what] :
       {std::make_tuple(&full1, &full2, "full/full"), std::make_tuple(&low, &full2, "rank 49/full"),
        std::make_tuple(&full2, &low, "full/rank 49")}) {
    const double fast = trace_sqrt_product(s1->sigma, s2->sigma);
    const double eigen = trace_sqrt_product(s1->sigma, s2->sigma, TraceSqrtMethod::kEigen);
    EXPECT_NEAR(fast, eigen, 1e-9 * eigen) << what;
  }
  // Not positive definite (rank 49 on both sides): kAuto falls back to the eigen route exactly.
  EXPECT_EQ(trace_sqrt_product(low.sigma, low.sigma),
            trace_sqrt_product(low.sigma, low.sigma, TraceSqrtMethod::kEigen));
}

// The evaluator's compute_statistics + FIDStatistics.frechet_distance, verbatim apart from names.
const char* kEvaluatorFid = R"PY(
import warnings
import numpy as np
from scipy import linalg

def frechet_distance(mu1, sigma1, mu2, sigma2, eps=1e-6):
    diff = mu1 - mu2
    covmean, _ = linalg.sqrtm(sigma1.dot(sigma2), disp=False)
    if not np.isfinite(covmean).all():
        warnings.warn("fid calculation produces singular product; adding %s to diagonal of cov estimates" % eps)
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = linalg.sqrtm((sigma1 + offset).dot(sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError("Imaginary component {}".format(np.max(np.abs(covmean.imag))))
        covmean = covmean.real
    return diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean)

out = []
for case in range(NUM_CASES):
    stats = []
    for side in ("sample", "ref"):
        acts = np.load(f"{side}_{case}.npy")
        mu, sigma = np.mean(acts, axis=0), np.cov(acts, rowvar=False)
        np.save(f"{side}_{case}_mu.npy", mu)
        np.save(f"{side}_{case}_sigma.npy", sigma)
        stats.append((mu, sigma))
    out.append(frechet_distance(stats[0][0], stats[0][1], stats[1][0], stats[1][1]))
np.save("fid.npy", np.array(out, dtype=np.float64))
)PY";

TEST(Fid, MatchesScipySqrtmOnFullRankAndRankDeficientCovariances) {
  struct Case {
    int64_t n_sample, n_ref, d;
    float shift;
  };
  // Full rank (N >> D), rank-deficient on one side and on both (N < D), and a near-identical pair.
  const std::vector<Case> cases = {
      {800, 900, 64, 0.3f}, {40, 700, 64, 0.1f}, {50, 60, 128, 0.2f}, {2000, 2000, 16, 0.01f}};
  test::TempDir dir;
  std::vector<FidStatistics> sample_stats, ref_stats;
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto& c = cases[i];
    RowMatrixXf s = test_util::random_features(c.n_sample, c.d, 100 + i, 1.0f, c.shift);
    RowMatrixXf r = test_util::random_features(c.n_ref, c.d, 200 + i);
    // Correlated features: mix the columns so the covariances are not near-diagonal.
    const RowMatrixXf mix = test_util::random_features(c.d, c.d, 300 + i, 0.3f);
    s = s * (RowMatrixXf::Identity(c.d, c.d) + mix);
    r = r * (RowMatrixXf::Identity(c.d, c.d) + 1.1f * mix);
    test_util::save(dir.file("sample_" + std::to_string(i) + ".npy"), s);
    test_util::save(dir.file("ref_" + std::to_string(i) + ".npy"), r);
    sample_stats.push_back(compute_statistics(s));
    ref_stats.push_back(compute_statistics(r));
  }
  std::string code = std::string("NUM_CASES = ") + std::to_string(cases.size()) + "\n" + kEvaluatorFid;
  ASSERT_EQ(test::run_python(code, dir.path()), 0);
  const std::vector<double> want = test_util::load(dir.file("fid.npy"));
  for (size_t i = 0; i < cases.size(); ++i) {
    // Our streaming statistics equal numpy's mean / cov.
    const std::string p = dir.file("sample_" + std::to_string(i));
    const std::vector<double> mu = test_util::load(p + "_mu.npy");
    const std::vector<double> sigma = test_util::load(p + "_sigma.npy");
    const double mu_err =
        (sample_stats[i].mu - Eigen::Map<const Eigen::VectorXd>(mu.data(), mu.size())).cwiseAbs().maxCoeff();
    const double sigma_err =
        (sample_stats[i].sigma - Eigen::Map<const Eigen::MatrixXd>(sigma.data(), cases[i].d, cases[i].d))
            .cwiseAbs()
            .maxCoeff();
    // The evaluator's np.mean of float32 activations is a float32 mean; ours is float64.
    EXPECT_LT(mu_err, 1e-5) << "case " << i;
    EXPECT_LT(sigma_err, 1e-12) << "case " << i;

    const double got = frechet_distance(sample_stats[i], ref_stats[i]);
    const double rel = std::abs(got - want[i]) / std::abs(want[i]);
    EXPECT_LT(rel, 1e-6) << "case " << i << ": ours " << got << ", scipy " << want[i];
    std::cout << "[ fid ] case " << i << " (N " << cases[i].n_sample << "/" << cases[i].n_ref << ", D " << cases[i].d
              << "): ours " << got << " scipy " << want[i] << " relative difference " << rel << "\n";
  }
}

}  // namespace
}  // namespace repro::metrics
