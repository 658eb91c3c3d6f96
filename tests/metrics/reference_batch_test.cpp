// ADM reference batch npz: files numpy writes as ADM's VIRTUAL_*.npz are read, files we write are
// read back by numpy the way the evaluator does.
#include "metrics/reference_batch.h"

#include <gtest/gtest.h>

#include "base/util/errors.h"
#include "tests/metrics/metrics_test_util.h"
#include "tests/support/test_support.h"

namespace repro::metrics {
namespace {

TEST(ReferenceBatch, ReadsAnAdmStyleFileWrittenByNumpy) {
  test::TempDir dir;
  const char* code = R"PY(
import numpy as np
rng = np.random.default_rng(0)
imgs = rng.integers(0, 256, size=(5, 8, 8, 3), dtype=np.uint8)
a = rng.standard_normal((20, 6)); b = rng.standard_normal((20, 4))
np.savez("virtual.npz", arr_0=imgs, mu=a.mean(0), sigma=np.cov(a, rowvar=False), mu_s=b.mean(0), sigma_s=np.cov(b, rowvar=False))
np.savez("images_only.npz", imgs)
np.savez("stats_partial.npz", arr_0=imgs, mu=a.mean(0), sigma=np.cov(a, rowvar=False))
np.savez("float_images.npz", imgs.astype(np.float32))
np.savez("nothing.npz", other=np.zeros(3))
np.save("sigma.npy", np.cov(a, rowvar=False)); np.save("imgs.npy", imgs)
)PY";
  ASSERT_EQ(test::run_python(code, dir.path()), 0);
  const ReferenceBatch b = read_reference_batch(dir.file("virtual.npz"));
  ASSERT_TRUE(b.images && b.stats && b.spatial_stats);
  EXPECT_EQ(b.images->shape, (std::vector<int64_t>{5, 8, 8, 3}));
  EXPECT_EQ(b.images->data, read_npy(dir.file("imgs.npy")).data);
  EXPECT_EQ(b.stats->mu.size(), 6);
  EXPECT_EQ(b.spatial_stats->sigma.rows(), 4);
  const std::vector<double> sigma = test_util::load(dir.file("sigma.npy"));
  EXPECT_EQ(b.stats->sigma(1, 4), sigma[1 * 6 + 4]);

  const ReferenceBatch only = read_reference_batch(dir.file("images_only.npz"));
  EXPECT_TRUE(only.images && !only.stats);
  EXPECT_NE(test::error_message([&] { read_reference_batch(dir.file("stats_partial.npz")); }).find("not mu_s, sigma_s"),
            std::string::npos);
  EXPECT_NE(
      test::error_message([&] { read_reference_batch(dir.file("float_images.npz")); }).find("arr_0 must be uint8"),
      std::string::npos);
  EXPECT_NE(test::error_message([&] { read_reference_batch(dir.file("nothing.npz")); }).find("neither arr_0"),
            std::string::npos);
  EXPECT_THROW(read_reference_batch(dir.file("missing.npz")), IoError);
}

TEST(ReferenceBatch, WritesWhatTheEvaluatorReads) {
  test::TempDir dir;
  ReferenceBatch b;
  b.images = make_npy_array(std::vector<uint8_t>(2 * 4 * 4 * 3, 7), {2, 4, 4, 3});
  b.stats = compute_statistics(test_util::random_features(10, 5, 1));
  b.spatial_stats = compute_statistics(test_util::random_features(10, 3, 2));
  write_reference_batch(dir.file("ours.npz"), b);
  // read_statistics of the evaluator: "mu" in keys -> the four arrays, as float64.
  const std::string code = R"PY(
import numpy as np
obj = np.load("ours.npz")
assert list(obj.keys()) == ["arr_0", "mu", "sigma", "mu_s", "sigma_s"], list(obj.keys())
assert obj["arr_0"].dtype == np.uint8 and obj["arr_0"].shape == (2, 4, 4, 3) and (obj["arr_0"] == 7).all()
assert obj["mu"].dtype == np.float64 and obj["sigma"].shape == (5, 5) and obj["sigma_s"].shape == (3, 3)
np.save("sigma.npy", obj["sigma"]); np.save("mu_s.npy", obj["mu_s"])
)PY";
  ASSERT_EQ(test::run_python(code, dir.path()), 0);
  const std::vector<double> sigma = test_util::load(dir.file("sigma.npy"));
  EXPECT_EQ(sigma[2 * 5 + 3], b.stats->sigma(2, 3));
  EXPECT_EQ(test_util::load(dir.file("mu_s.npy"))[1], b.spatial_stats->mu(1));
  const ReferenceBatch back = read_reference_batch(dir.file("ours.npz"));
  EXPECT_EQ(back.stats->sigma, b.stats->sigma);

  ReferenceBatch half = b;
  half.spatial_stats.reset();
  EXPECT_THROW(write_reference_batch(dir.file("half.npz"), half), DataError);
}

}  // namespace
}  // namespace repro::metrics
