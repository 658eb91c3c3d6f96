#include "metrics/fid.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <string>

#include "base/util/errors.h"
#include "metrics/blas.h"

namespace repro::metrics {
namespace {

std::string shape1(Eigen::Index n) { return "(" + std::to_string(n) + ",)"; }
std::string shape2(const Eigen::MatrixXd& m) {
  return "(" + std::to_string(m.rows()) + ", " + std::to_string(m.cols()) + ")";
}

// Python's "%s" % eps for the warning text: the shortest round-trip form ("1e-06" for 1e-6).
std::string python_float_repr(double x) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof(buf), x);
  return std::string(buf, r.ptr);
}

// Eigenvalues of a symmetric PSD matrix with those under the numerical-rank threshold
// (size * machine epsilon * largest, numpy.linalg.matrix_rank's) set to 0: they are round-off of true
// zeros, and their square roots (~1e-8 of the largest each) would otherwise add up to visible noise.
Eigen::VectorXd clamped(const Eigen::VectorXd& eigenvalues) {
  const double largest = eigenvalues.size() ? eigenvalues.cwiseAbs().maxCoeff() : 0.0;
  const double threshold = largest * static_cast<double>(eigenvalues.size()) * std::numeric_limits<double>::epsilon();
  return eigenvalues.unaryExpr([threshold](double x) { return x > threshold ? x : 0.0; });
}

// Below this reciprocal 1-norm condition estimate the Cholesky route is not taken (see fid.h).
constexpr double kCholeskyMinRcond = 1e-8;

// tr sqrt(S1 S2) by the eigendecomposition of S1 (clamping its round-off eigenvalues to 0).
double trace_sqrt_by_eigen(const Eigen::MatrixXd& sigma1, const Eigen::MatrixXd& sigma2) {
  Eigen::MatrixXd v = sigma1;
  Eigen::VectorXd lambda1;
  if (!blas::symmetric_eigen(v, lambda1, /*vectors=*/true)) return std::nan("");
  const Eigen::VectorXd root = clamped(lambda1).cwiseSqrt();
  // sqrt(S1) S2 sqrt(S1) = V R (V^T S2 V) R V^T has the eigenvalues of W^T S2 W with W = V R: no
  // need to form sqrt(S1) itself.
  const Eigen::MatrixXd w = v * root.asDiagonal();
  Eigen::MatrixXd inner = blas::gemm_tn(w, blas::gemm_tn(sigma2, w));  // S2 symmetric: S2^T W = S2 W
  inner = 0.5 * (inner + inner.transpose());                           // exact symmetry for the solver
  Eigen::VectorXd lambda2;
  if (!blas::symmetric_eigen(inner, lambda2, /*vectors=*/false)) return std::nan("");
  return clamped(lambda2).cwiseSqrt().sum();
}

// tr sqrt(S1 S2) by S1 = L L^T: the eigenvalues of L^T S2 L; NaN (no answer) when S1 is not
// well-conditioned positive definite.
double trace_sqrt_by_cholesky(const Eigen::MatrixXd& sigma1, const Eigen::MatrixXd& sigma2) {
  Eigen::MatrixXd l = sigma1;
  double rcond = 0.0;
  if (!blas::cholesky_lower(l, &rcond) || !(rcond > kCholeskyMinRcond)) return std::nan("");
  Eigen::MatrixXd inner = sigma2;
  blas::congruence_lower(inner, l);
  Eigen::VectorXd lambda;
  if (!blas::symmetric_eigen(inner, lambda, /*vectors=*/false)) return std::nan("");
  return clamped(lambda).cwiseSqrt().sum();
}

}  // namespace

double trace_sqrt_product(const Eigen::MatrixXd& sigma1, const Eigen::MatrixXd& sigma2, TraceSqrtMethod method) {
  if (sigma1.rows() != sigma1.cols() || sigma2.rows() != sigma2.cols() || sigma1.rows() != sigma2.rows()) {
    throw DataError("trace_sqrt_product: covariances must be square of the same size, got " + shape2(sigma1) + " and " +
                    shape2(sigma2));
  }
  if (method == TraceSqrtMethod::kAuto) {
    // tr sqrt(S1 S2) = tr sqrt(S2 S1): either covariance may be factored.
    double t = trace_sqrt_by_cholesky(sigma1, sigma2);
    if (std::isfinite(t)) return t;
    t = trace_sqrt_by_cholesky(sigma2, sigma1);
    if (std::isfinite(t)) return t;
  }
  return trace_sqrt_by_eigen(sigma1, sigma2);
}

double frechet_distance(const FidStatistics& self, const FidStatistics& other, FrechetDiagnostics* diagnostics,
                        double eps) {
  const Eigen::VectorXd& mu1 = self.mu;
  const Eigen::VectorXd& mu2 = other.mu;
  const Eigen::MatrixXd& sigma1 = self.sigma;
  const Eigen::MatrixXd& sigma2 = other.sigma;
  if (mu1.size() != mu2.size()) {
    throw DataError("Training and test mean vectors have different lengths: " + shape1(mu1.size()) + ", " +
                    shape1(mu2.size()));
  }
  if (sigma1.rows() != sigma2.rows() || sigma1.cols() != sigma2.cols()) {
    throw DataError("Training and test covariances have different dimensions: " + shape2(sigma1) + ", " +
                    shape2(sigma2));
  }
  if (sigma1.rows() != mu1.size() || sigma1.cols() != mu1.size()) {
    throw DataError("FID statistics: sigma " + shape2(sigma1) + " does not match mu " + shape1(mu1.size()));
  }
  if (!mu1.allFinite() || !mu2.allFinite() || !sigma1.allFinite() || !sigma2.allFinite()) {
    throw DataError("FID statistics contain NaN or infinite values");
  }
  if (diagnostics) *diagnostics = {};

  const Eigen::VectorXd diff = mu1 - mu2;
  double tr_covmean = trace_sqrt_product(sigma1, sigma2);
  if (!std::isfinite(tr_covmean)) {
    const std::string msg =
        "fid calculation produces singular product; adding " + python_float_repr(eps) + " to diagonal of cov estimates";
    if (diagnostics) *diagnostics = {true, msg};
    const Eigen::MatrixXd offset = Eigen::MatrixXd::Identity(sigma1.rows(), sigma1.cols()) * eps;
    tr_covmean = trace_sqrt_product(sigma1 + offset, sigma2 + offset);
    if (!std::isfinite(tr_covmean)) throw DataError("FID: " + msg + ", and the result is still not finite");
  }
  return diff.dot(diff) + sigma1.trace() + sigma2.trace() - 2.0 * tr_covmean;
}

}  // namespace repro::metrics
