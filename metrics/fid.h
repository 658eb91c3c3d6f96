#pragma once
// The Frechet distance of the evaluator's FIDStatistics.frechet_distance (from TTUR's fid.py):
//   ||mu1 - mu2||^2 + tr S1 + tr S2 - 2 tr sqrt(S1 S2),   in float64.
//
// Where we differ from the reference, and why: it takes scipy.linalg.sqrtm of the non-symmetric
// product S1 S2 (a Schur method, ~5 s at D = 2048, complex round-off it then discards). The trace is
// all that is needed, and S1 S2 is similar to the symmetric PSD matrix sqrt(S1) S2 sqrt(S1), so
//   tr sqrt(S1 S2) = sum_i sqrt(lambda_i(sqrt(S1) S2 sqrt(S1)))
// by symmetric eigendecompositions (LAPACK dsyevd through OpenBLAS, metrics/blas.h; a Cholesky
// factor of S1 instead of its eigenvectors when S1 is well conditioned, see TraceSqrtMethod).
// Eigenvalues of S1 and of the product below D * machine epsilon * the largest (negative ones
// included) are round-off of true zeros (rank-deficient covariances, e.g. fewer images than
// dimensions) and are clamped to 0 -- the counterpart of the reference dropping sqrtm's imaginary
// round-off. The reference's "Imaginary component" error cannot occur in this form.
#include <string>

#include <Eigen/Core>

#include "metrics/feature_stats.h"

namespace repro::metrics {

struct FrechetDiagnostics {
  // True when the first attempt was not finite and eps * I was added to both covariances, as the
  // reference does after warning `warning`.
  bool offset_added = false;
  std::string warning;  // the reference's message, "" when none
};

// How trace_sqrt_product gets there. kAuto: when S1 (else S2) is positive definite with a
// reciprocal condition estimate above 1e-8 (LAPACK dpocon; 2-norm at least ~5e-12, far above the
// D * epsilon clamp threshold, so nothing would be clamped anyway), S1 = L L^T and the eigenvalues
// of L^T S2 L (similar to S1 S2: dpotrf + dsygst + values-only dsyevd, ~3x faster at D = 2048);
// otherwise (rank-deficient or ill-conditioned, e.g. fewer images than dimensions) kEigen: the
// eigenvectors V and clamped eigenvalues of S1 and the eigenvalues of (V R)^T S2 (V R), R = sqrt of
// the clamped eigenvalues. Both are backward stable; they agree to round-off on well-conditioned input.
enum class TraceSqrtMethod { kAuto, kEigen };

// tr sqrt(sigma1 sigma2) for symmetric PSD [D, D] matrices (see above); NaN when an eigensolver
// does not converge or a matrix is not finite. Throws DataError when the shapes differ or are not square.
double trace_sqrt_product(const Eigen::MatrixXd& sigma1, const Eigen::MatrixXd& sigma2,
                          TraceSqrtMethod method = TraceSqrtMethod::kAuto);

// The evaluator's self.frechet_distance(other): self is the sample batch, other the reference
// (the value is symmetric up to round-off). If the result is not finite, retries with eps * I added
// to both covariances and reports the reference's warning in `diagnostics` (library code does not
// print). Throws DataError for mismatched dimensions (the reference's assertion messages), for
// non-finite inputs (NaN statistics cannot give a meaningful number), and when the retry is still
// not finite.
double frechet_distance(const FidStatistics& self, const FidStatistics& other,
                        FrechetDiagnostics* diagnostics = nullptr, double eps = 1e-6);

}  // namespace repro::metrics
