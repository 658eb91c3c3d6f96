#include "metrics/blas.h"

#include <cblas.h>  // OpenBLAS's (libopenblas-dev): cblas_*, openblas_* ; the Fortran LAPACK below

#include <algorithm>
#include <limits>
#include <string>
#include <vector>

#include "base/util/errors.h"

extern "C" {
// LAPACK (reference Fortran interface, in libopenblas.so.0). Debian's OpenBLAS uses 32-bit integers.
void dpotrf_(const char* uplo, const int* n, double* a, const int* lda, int* info, size_t uplo_len);
void dpocon_(const char* uplo, const int* n, const double* a, const int* lda, const double* anorm, double* rcond,
             double* work, int* iwork, int* info, size_t uplo_len);
void dsygst_(const int* itype, const char* uplo, const int* n, double* a, const int* lda, const double* b,
             const int* ldb, int* info, size_t uplo_len);
void dsyevd_(const char* jobz, const char* uplo, const int* n, double* a, const int* lda, double* w, double* work,
             const int* lwork, int* iwork, const int* liwork, int* info, size_t jobz_len, size_t uplo_len);
}

namespace repro::metrics::blas {
namespace {

int as_int(Eigen::Index n, const char* what) {
  if (n > static_cast<Eigen::Index>(std::numeric_limits<int>::max())) {
    throw DataError(std::string("BLAS: ") + what + " too large for 32-bit BLAS integers");
  }
  return static_cast<int>(n);
}

}  // namespace

std::string backend() {
  std::string s = openblas_get_config();
  s += " (core ";
  s += openblas_get_corename();
  s += ")";
  return s;
}

void set_num_threads(int threads) { openblas_set_num_threads(std::max(1, threads)); }
int num_threads() { return openblas_get_num_threads(); }

void rank_update_lower(Eigen::MatrixXd& c, const RowMatrixXd& a, double alpha) {
  const int d = as_int(c.rows(), "dimension");
  const int n = as_int(a.rows(), "batch");
  if (c.cols() != c.rows() || a.cols() != c.rows()) throw DataError("rank_update_lower: shape mismatch");
  if (n == 0 || d == 0) return;
  // Row-major a [n, d] is column-major a^T [d, n]: C += (a^T)(a^T)^T, no transposing copy.
  cblas_dsyrk(CblasColMajor, CblasLower, CblasNoTrans, d, n, alpha, a.data(), d, 1.0, c.data(), d);
}

Eigen::MatrixXd gemm_tn(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b) {
  if (a.rows() != b.rows()) throw DataError("gemm_tn: inner dimensions differ");
  const int k = as_int(a.rows(), "inner dimension"), m = as_int(a.cols(), "rows"), n = as_int(b.cols(), "cols");
  Eigen::MatrixXd c(m, n);
  if (m == 0 || n == 0) return c;
  if (k == 0) return Eigen::MatrixXd::Zero(m, n);
  cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, m, n, k, 1.0, a.data(), k, b.data(), k, 0.0, c.data(), m);
  return c;
}

Eigen::MatrixXd gemm_nt(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b) {
  if (a.cols() != b.cols()) throw DataError("gemm_nt: inner dimensions differ");
  const int k = as_int(a.cols(), "inner dimension"), m = as_int(a.rows(), "rows"), n = as_int(b.rows(), "cols");
  Eigen::MatrixXd c(m, n);
  if (m == 0 || n == 0) return c;
  if (k == 0) return Eigen::MatrixXd::Zero(m, n);
  cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0, a.data(), m, b.data(), n, 0.0, c.data(), m);
  return c;
}

void sgemm_nt(const FeaturesRef& u, const FeaturesRef& v, RowMatrixXf* out) {
  if (u.cols() != v.cols()) throw DataError("sgemm_nt: inner dimensions differ");
  const int k = as_int(u.cols(), "inner dimension"), m = as_int(u.rows(), "rows"), n = as_int(v.rows(), "cols");
  out->resize(m, n);
  if (m == 0 || n == 0) return;
  if (k == 0) {
    out->setZero();
    return;
  }
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, u.data(),
              as_int(std::max<Eigen::Index>(u.outerStride(), k), "stride"), v.data(),
              as_int(std::max<Eigen::Index>(v.outerStride(), k), "stride"), 0.0f, out->data(), n);
}

bool symmetric_eigen(Eigen::MatrixXd& a, Eigen::VectorXd& eigenvalues, bool vectors) {
  if (a.rows() != a.cols()) throw DataError("symmetric_eigen: matrix is not square");
  const int n = as_int(a.rows(), "dimension");
  eigenvalues.resize(n);
  if (n == 0) return true;
  // LAPACK does not check for NaN / inf (the iterations may then run on garbage): not finite, no answer.
  if (!a.allFinite()) return false;
  const char jobz = vectors ? 'V' : 'N', uplo = 'L';
  int info = 0, lwork = -1, liwork = -1, iwork_query = 0;
  double work_query = 0.0;
  dsyevd_(&jobz, &uplo, &n, a.data(), &n, eigenvalues.data(), &work_query, &lwork, &iwork_query, &liwork, &info, 1, 1);
  if (info != 0) return false;
  lwork = static_cast<int>(work_query);
  liwork = iwork_query;
  std::vector<double> work(static_cast<size_t>(std::max(1, lwork)));
  std::vector<int> iwork(static_cast<size_t>(std::max(1, liwork)));
  dsyevd_(&jobz, &uplo, &n, a.data(), &n, eigenvalues.data(), work.data(), &lwork, iwork.data(), &liwork, &info, 1, 1);
  return info == 0;
}

bool cholesky_lower(Eigen::MatrixXd& a, double* rcond) {
  if (a.rows() != a.cols()) throw DataError("cholesky_lower: matrix is not square");
  const int n = as_int(a.rows(), "dimension");
  if (n == 0 || !a.allFinite()) return false;
  // The 1-norm of the symmetric matrix from its lower triangle (LAPACK's dlansy('1')).
  double anorm = 0.0;
  for (int j = 0; j < n; ++j) {
    const double col = a.col(j).tail(n - j).cwiseAbs().sum() + a.row(j).head(j).cwiseAbs().sum();
    anorm = std::max(anorm, col);
  }
  const char uplo = 'L';
  int info = 0;
  dpotrf_(&uplo, &n, a.data(), &n, &info, 1);
  if (info != 0) return false;
  std::vector<double> work(3 * static_cast<size_t>(n));
  std::vector<int> iwork(static_cast<size_t>(n));
  double rc = 0.0;
  dpocon_(&uplo, &n, a.data(), &n, &anorm, &rc, work.data(), iwork.data(), &info, 1);
  if (info != 0) return false;
  *rcond = rc;
  return true;
}

void congruence_lower(Eigen::MatrixXd& a, const Eigen::MatrixXd& l) {
  if (a.rows() != a.cols() || l.rows() != a.rows() || l.cols() != a.cols()) {
    throw DataError("congruence_lower: shape mismatch");
  }
  const int n = as_int(a.rows(), "dimension");
  if (n == 0) return;
  const int itype = 2;
  const char uplo = 'L';
  int info = 0;
  dsygst_(&itype, &uplo, &n, a.data(), &n, l.data(), &n, &info, 1);
  if (info != 0) throw DataError("congruence_lower: dsygst failed with info " + std::to_string(info));
}

}  // namespace repro::metrics::blas
