// The OpenBLAS / LAPACK wrappers equal Eigen's own computations (metrics/blas.h).
#include "metrics/blas.h"

#include <gtest/gtest.h>

#include <Eigen/Cholesky>
#include <Eigen/Eigenvalues>

#include "tests/metrics/metrics_test_util.h"

namespace repro::metrics {
namespace {

TEST(Blas, ReportsOpenBlasAndSetsThreads) {
  EXPECT_NE(blas::backend().find("OpenBLAS"), std::string::npos) << blas::backend();
  const int before = blas::num_threads();
  blas::set_num_threads(1);
  EXPECT_EQ(blas::num_threads(), 1);
  blas::set_num_threads(before);
}

TEST(Blas, ProductsEqualEigen) {
  const RowMatrixXf a = test_util::random_features(37, 50, 1);
  const RowMatrixXf b = test_util::random_features(23, 50, 2);
  RowMatrixXf got;
  blas::sgemm_nt(a, b, &got);
  EXPECT_LT((got - a * b.transpose()).cwiseAbs().maxCoeff(), 1e-4f);
  // Strided views (a column block: row stride 50, 20 columns) and row blocks.
  blas::sgemm_nt(a.middleCols(5, 20), b.middleRows(3, 7).middleCols(5, 20), &got);
  const RowMatrixXf want = a.middleCols(5, 20) * b.middleRows(3, 7).middleCols(5, 20).transpose();
  ASSERT_EQ(got.rows(), 37);
  ASSERT_EQ(got.cols(), 7);
  EXPECT_LT((got - want).cwiseAbs().maxCoeff(), 1e-4f);

  const Eigen::MatrixXd x = a.cast<double>(), y = b.cast<double>();
  EXPECT_LT((blas::gemm_nt(x, y) - x * y.transpose()).cwiseAbs().maxCoeff(), 1e-12);
  EXPECT_LT((blas::gemm_tn(x.transpose(), y.transpose()) - x * y.transpose()).cwiseAbs().maxCoeff(), 1e-12);

  Eigen::MatrixXd c = Eigen::MatrixXd::Constant(50, 50, 7.0);
  const blas::RowMatrixXd r = x;
  blas::rank_update_lower(c, r, 0.5);
  const Eigen::MatrixXd full = Eigen::MatrixXd::Constant(50, 50, 7.0) + 0.5 * x.transpose() * x;
  for (int j = 0; j < 50; ++j) {
    for (int i = 0; i < 50; ++i) {
      if (i >= j)
        EXPECT_NEAR(c(i, j), full(i, j), 1e-11) << i << ", " << j;
      else
        EXPECT_EQ(c(i, j), 7.0) << "upper triangle touched at " << i << ", " << j;
    }
  }
}

TEST(Blas, EigenAndCholeskyEqualEigen) {
  const RowMatrixXf f = test_util::random_features(200, 40, 3);
  const Eigen::MatrixXd s = (f.cast<double>().transpose() * f.cast<double>()) / 199.0;
  const RowMatrixXf g = test_util::random_features(100, 40, 4);
  const Eigen::MatrixXd t = (g.cast<double>().transpose() * g.cast<double>()) / 99.0;

  Eigen::MatrixXd v = s;
  Eigen::VectorXd w;
  ASSERT_TRUE(blas::symmetric_eigen(v, w, true));
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> ref(s);
  EXPECT_LT((w - ref.eigenvalues()).cwiseAbs().maxCoeff(), 1e-12);
  EXPECT_LT((v * w.asDiagonal() * v.transpose() - s).cwiseAbs().maxCoeff(), 1e-12);
  Eigen::MatrixXd values_only = s;
  ASSERT_TRUE(blas::symmetric_eigen(values_only, w, false));
  EXPECT_LT((w - ref.eigenvalues()).cwiseAbs().maxCoeff(), 1e-12);

  Eigen::MatrixXd l = s;
  double rcond = 0.0;
  ASSERT_TRUE(blas::cholesky_lower(l, &rcond));
  EXPECT_GT(rcond, 1e-3);
  const Eigen::MatrixXd lower = l.triangularView<Eigen::Lower>();
  EXPECT_LT((lower * lower.transpose() - s).cwiseAbs().maxCoeff(), 1e-12);
  Eigen::MatrixXd inner = t;
  blas::congruence_lower(inner, l);
  const Eigen::MatrixXd want = lower.transpose() * t * lower;
  for (int j = 0; j < 40; ++j)
    for (int i = j; i < 40; ++i) EXPECT_NEAR(inner(i, j), want(i, j), 1e-11);

  // Not positive definite, not finite: no answer.
  Eigen::MatrixXd singular = Eigen::MatrixXd::Zero(3, 3);
  EXPECT_FALSE(blas::cholesky_lower(singular, &rcond));
  Eigen::MatrixXd nan = s;
  nan(3, 1) = std::nan("");
  EXPECT_FALSE(blas::symmetric_eigen(nan, w, false));
}

}  // namespace
}  // namespace repro::metrics
