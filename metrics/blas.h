#pragma once
// The BLAS / LAPACK calls of repro_metrics, on Eigen matrices: OpenBLAS (Debian's
// libopenblas0-pthread, linked as libopenblas.so.0, the very library LibTorch's libtorch_cpu.so
// loads, so one BLAS with one thread pool serves the whole process).
//
// Why explicit calls instead of EIGEN_USE_BLAS / EIGEN_USE_LAPACKE: those macros change Eigen's
// inline templates in every translation unit that sees them (an ODR hazard for targets that
// include Eigen without them), and Eigen's LAPACKE path for SelfAdjointEigenSolver is dsyev (QR
// iteration), several times slower for eigenvectors at D = 2048 than dsyevd (divide and conquer).
#include <string>

#include <Eigen/Core>

#include "metrics/features.h"

namespace repro::metrics::blas {

// "OpenBLAS 0.3.21 ... (core Zen)": openblas_get_config() and the kernel in use.
std::string backend();
// OpenBLAS's thread count (openblas_set_num_threads; the default is OPENBLAS_NUM_THREADS, else
// the number of cores). Process-wide: it also applies to LibTorch's BLAS calls.
void set_num_threads(int threads);
int num_threads();

// c.lower += alpha * a^T a (dsyrk, lower triangle, a [n, d] row-major: one row per observation,
// c [d, d]); the strict upper triangle of c is not touched.
using RowMatrixXd = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
void rank_update_lower(Eigen::MatrixXd& c, const RowMatrixXd& a, double alpha);

// a^T b (dgemm), a [k, m], b [k, n] column-major -> [m, n].
Eigen::MatrixXd gemm_tn(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b);
// a * b^T (dgemm), a [m, k], b [n, k] column-major -> [m, n].
Eigen::MatrixXd gemm_nt(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b);

// out = u v^T (sgemm) for row-major float features u [m, k], v [n, k] (any row stride);
// out is resized to [m, n].
void sgemm_nt(const FeaturesRef& u, const FeaturesRef& v, RowMatrixXf* out);

// Eigenvalues (ascending) and, when `vectors`, eigenvectors of the symmetric matrix whose lower
// triangle is in `a` (LAPACK dsyevd, divide and conquer). On return `a` holds the eigenvectors as
// columns (vectors) or is destroyed (values only). Returns false when `a` is not finite or dsyevd
// did not converge.
bool symmetric_eigen(Eigen::MatrixXd& a, Eigen::VectorXd& eigenvalues, bool vectors);

// Cholesky factor of the symmetric positive-definite matrix whose lower triangle is in `a` (dpotrf,
// lower), with LAPACK's estimate of its reciprocal 1-norm condition number (dpocon). On success `a`
// holds L in its lower triangle (the strict upper triangle is left as it was) and the estimate is
// stored in `rcond`; false when `a` is not finite or not numerically positive definite.
bool cholesky_lower(Eigen::MatrixXd& a, double* rcond);

// a.lower := L^T A L (dsygst, itype 2, lower) for symmetric A in the lower triangle of `a` and the
// lower Cholesky factor `l` from cholesky_lower; the strict upper triangle of `a` is meaningless after.
void congruence_lower(Eigen::MatrixXd& a, const Eigen::MatrixXd& l);

}  // namespace repro::metrics::blas
