#include "metrics/reference_batch.h"

#include <map>
#include <utility>
#include <vector>

#include "base/util/errors.h"

namespace repro::metrics {
namespace {

const NpyArray* find(const std::map<std::string, NpyArray>& arrays, const std::string& key) {
  auto it = arrays.find(key);
  return it == arrays.end() ? nullptr : &it->second;
}

FidStatistics read_stats(const std::string& path, const NpyArray& mu, const std::string& mu_key, const NpyArray& sigma,
                         const std::string& sigma_key) {
  const std::string where = path + ": ";
  if (mu.shape.size() != 1 || mu.shape[0] < 1) {
    throw DataError(where + mu_key + " must have shape (D,), got " + shape_repr(mu.shape));
  }
  const int64_t d = mu.shape[0];
  if (sigma.shape != std::vector<int64_t>{d, d}) {
    throw DataError(where + sigma_key + " must have shape " + shape_repr({d, d}) + " to match " + mu_key + ", got " +
                    shape_repr(sigma.shape));
  }
  FidStatistics s;
  const std::vector<double> m = as_float64(mu, where + mu_key);
  const std::vector<double> c = as_float64(sigma, where + sigma_key);
  s.mu = Eigen::Map<const Eigen::VectorXd>(m.data(), d);
  // Row-major on disk; sigma is symmetric, but keep the bytes' meaning exact.
  s.sigma = Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(c.data(), d, d);
  if (!s.mu.allFinite() || !s.sigma.allFinite()) {
    throw DataError(where + mu_key + "/" + sigma_key + " contain NaN or infinite values");
  }
  return s;
}

NpyArray to_npy(const Eigen::VectorXd& v) {
  return make_npy_array(std::vector<double>(v.data(), v.data() + v.size()), {v.size()});
}
NpyArray to_npy(const Eigen::MatrixXd& m) {
  const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> r = m;
  return make_npy_array(std::vector<double>(r.data(), r.data() + r.size()), {m.rows(), m.cols()});
}

void check_images(const std::string& where, const NpyArray& images) {
  const auto& s = images.shape;
  if (images.descr != "|u1" || s.size() != 4 || s[3] != 3 || s[0] < 1 || s[1] < 1 || s[2] < 1) {
    throw DataError(where + "arr_0 must be uint8 images [N, H, W, 3], got dtype " + images.descr + " shape " +
                    shape_repr(s));
  }
}

}  // namespace

ReferenceBatch read_reference_batch(const std::string& path) {
  std::map<std::string, NpyArray> arrays = read_npz(path);
  ReferenceBatch batch;
  if (auto it = arrays.find("arr_0"); it != arrays.end()) {
    check_images(path + ": ", it->second);
    batch.images = std::move(it->second);
  }
  if (const NpyArray* mu = find(arrays, "mu")) {
    std::string missing;
    for (const char* key : {"sigma", "mu_s", "sigma_s"}) {
      if (!find(arrays, key)) missing += std::string(missing.empty() ? "" : ", ") + key;
    }
    if (!missing.empty()) {
      throw DataError(path + ": has mu but not " + missing +
                      " (the evaluator reads mu, sigma, mu_s, sigma_s together)");
    }
    batch.stats = read_stats(path, *mu, "mu", *find(arrays, "sigma"), "sigma");
    batch.spatial_stats = read_stats(path, *find(arrays, "mu_s"), "mu_s", *find(arrays, "sigma_s"), "sigma_s");
  }
  if (const NpyArray* pool = find(arrays, "pool_3")) {
    if (pool->descr != "<f4" || pool->shape.size() != 2 || pool->shape[0] < 1 || pool->shape[1] < 1)
      throw DataError(path + ": pool_3 must be float32 features [N, D], got dtype " + pool->descr + " shape " +
                      shape_repr(pool->shape));
    // "<f4" bytes are the floats themselves (little-endian host): mapped, not converted, so the
    // features are held twice at most (npz bytes, matrix) instead of three times.
    batch.pool_3 = Eigen::Map<const RowMatrixXf>(reinterpret_cast<const float*>(pool->data.data()), pool->shape[0],
                                                 pool->shape[1]);
    if (!batch.pool_3->allFinite()) throw DataError(path + ": pool_3 contains NaN or infinite values");
  }
  if (!batch.images && !batch.stats) {
    throw DataError(path + ": neither arr_0 (images) nor statistics (mu, sigma, mu_s, sigma_s) found");
  }
  return batch;
}

void write_reference_batch(const std::string& path, const ReferenceBatch& batch) {
  if (batch.stats.has_value() != batch.spatial_stats.has_value()) {
    throw DataError(path + ": write both pool and spatial statistics or neither (the evaluator reads all four keys)");
  }
  if (!batch.images && !batch.stats) throw DataError(path + ": nothing to write (no images, no statistics)");
  std::vector<std::pair<std::string, NpyArray>> arrays;
  if (batch.images) {
    check_images(path + ": ", *batch.images);
    arrays.emplace_back("arr_0", *batch.images);
  }
  if (batch.stats) {
    for (const auto* s : {&*batch.stats, &*batch.spatial_stats}) {
      if (s->sigma.rows() != s->mu.size() || s->sigma.cols() != s->mu.size() || s->mu.size() < 1) {
        throw DataError(path + ": statistics with mu of size " + std::to_string(s->mu.size()) + " and sigma " +
                        std::to_string(s->sigma.rows()) + "x" + std::to_string(s->sigma.cols()));
      }
    }
    arrays.emplace_back("mu", to_npy(batch.stats->mu));
    arrays.emplace_back("sigma", to_npy(batch.stats->sigma));
    arrays.emplace_back("mu_s", to_npy(batch.spatial_stats->mu));
    arrays.emplace_back("sigma_s", to_npy(batch.spatial_stats->sigma));
  }
  if (batch.pool_3) {
    const RowMatrixXf& f = *batch.pool_3;
    arrays.emplace_back("pool_3",
                        make_npy_array(std::vector<float>(f.data(), f.data() + f.size()), {f.rows(), f.cols()}));
  }
  write_npz(path, arrays);
}

}  // namespace repro::metrics
