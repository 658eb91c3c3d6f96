// Benchmark: the training data path. (1) `repro data prepare` throughput for a folder of JPEGs
// (256x256 sources to 64x64 with the reference's center_crop_arr) and for an npz; (2) loader
// throughput over a prepared (memory-mapped) dataset at 32x32 and 64x64: shuffled batches scaled
// to [-1, 1], random flip on/off, background prefetch on/off, 1 and 2 LibTorch threads.
//   bench_loader [--quick]
// The loader must never be what slows training: compare with bench_train's images/s.
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>

#include "base/util/npy.h"
#include "bench/bench_util.h"
#include "core/train/data_source.h"
#include "core/util/device.h"
#include "datasets/packed_dataset.h"
#include "datasets/prepare.h"

using namespace repro;
namespace fs = std::filesystem;

namespace {

// n smooth-ish random RGB images of size s x s as JPEG files (quality 90) in dir.
void write_jpegs(const fs::path& dir, int n, int s) {
  fs::create_directories(dir);
  std::mt19937 rng(1);
  std::vector<uint8_t> img(static_cast<size_t>(s) * s * 3);
  for (int i = 0; i < n; ++i) {
    const int a = static_cast<int>(rng() % 97), b = static_cast<int>(rng() % 89);
    for (int y = 0; y < s; ++y)
      for (int x = 0; x < s; ++x)
        for (int c = 0; c < 3; ++c)
          img[(static_cast<size_t>(y) * s + x) * 3 + c] =
              static_cast<uint8_t>((x * a + y * b + c * 40 + (rng() & 15)) & 255);
    char name[32];
    std::snprintf(name, sizeof name, "img_%05d.jpg", i);
    stbi_write_jpg((dir / name).c_str(), s, s, 3, img.data(), 90);
  }
}

// An npz of n random images s x s.
void write_npz_images(const fs::path& path, int n, int s) {
  std::vector<uint8_t> v(static_cast<size_t>(n) * s * s * 3);
  std::mt19937 rng(2);
  for (auto& x : v) x = static_cast<uint8_t>(rng());
  write_npz(path.string(), {{"arr_0", make_npy_array(v, {n, s, s, 3})}});
}

double prepare(const datasets::PrepareOptions& o) {
  fs::remove_all(o.out);
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = datasets::prepare_dataset(o);
  return static_cast<double>(r.manifest.count) / bench::seconds_since(t0);
}

// Images/s of `batches` batches of `batch` from an in-memory or mapped uint8 tensor.
double loader_rate(const torch::Tensor& images, bool flip, bool prefetch, int batch, int batches) {
  core::ImageArraySource source(images, "bench", flip, 0, prefetch);
  source.next_batch(batch);  // warm-up: first permutation, first prefetch
  const auto t0 = std::chrono::steady_clock::now();
  double checksum = 0;
  for (int i = 0; i < batches; ++i) checksum += source.next_batch(batch)[0][0][0][0].item<float>();
  const double s = bench::seconds_since(t0);
  if (checksum == 12345.678) std::printf("!");  // keep the batches alive
  return batch * batches / s;
}

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  const fs::path scratch = fs::temp_directory_path() / "repro_bench_loader";
  fs::remove_all(scratch);
  const int n_jpeg = quick ? 200 : 2000, n_images = quick ? 2000 : 20000, batches = quick ? 50 : 300;

  std::printf("## prepare (repro data prepare), 1 process\n\n");
  std::printf("| source | images | out size | images/s |\n|---|---:|---:|---:|\n");
  write_jpegs(scratch / "jpegs", n_jpeg, 256);
  datasets::PrepareOptions o;
  o.dataset = "folder";
  o.source = (scratch / "jpegs").string();
  o.out = (scratch / "jpegs64").string();
  o.size = 64;
  std::printf("| JPEG folder 256x256 | %d | 64 | %.0f |\n", n_jpeg, prepare(o));
  for (int s : {32, 64}) {
    const fs::path npz = scratch / ("src" + std::to_string(s) + ".npz");
    write_npz_images(npz, n_images, s);
    o.dataset = "npz";
    o.source = npz.string();
    o.out = (scratch / ("packed" + std::to_string(s))).string();
    o.size = 0;
    std::printf("| npz %dx%d | %d | %d | %.0f |\n", s, s, n_images, s, prepare(o));
  }

  std::printf("\n## loader: shuffled batches of 128 from a prepared (mmap) dataset, scaled to [-1, 1]\n\n");
  std::printf("| size | threads | flip | prefetch | images/s |\n|---:|---:|---|---|---:|\n");
  for (int s : {32, 64}) {
    const auto ds = datasets::PackedDataset::open((scratch / ("packed" + std::to_string(s))).string());
    const torch::Tensor images = torch::from_blob(const_cast<uint8_t*>(ds.image(0)),
                                                  {ds.size(), ds.height(), ds.width(), ds.channels()}, torch::kUInt8);
    for (int threads : {1, 2}) {
      core::set_num_threads(threads);
      for (bool flip : {false, true})
        for (bool prefetch : {false, true})
          std::printf("| %d | %d | %s | %s | %.0f |\n", s, threads, flip ? "yes" : "no", prefetch ? "yes" : "no",
                      loader_rate(images, flip, prefetch, 128, batches));
      std::fflush(stdout);
    }
  }
  std::printf("\npeak RSS %.0f MiB\n", bench::peak_rss_mib());
  fs::remove_all(scratch);
  return 0;
}
