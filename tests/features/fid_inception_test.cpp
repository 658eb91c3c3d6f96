// The FID Inception feature network against a reference written in Python (fid_inception_reference.py,
// pytorch-fid's FID variant with its module names, seeded non-trivial weights, torch.jit.script'ed and
// run by Debian's python3-torch): native LibTorch network with the TorchScript's weights, the
// TorchScript run through torch::jit in C++, the state-dict .pth path, the end-to-end FeatureExtractor
// (TF1 resize + (x-128)/128, numpy transcription), the sFID flattening, random-inception, errors.
#include <gtest/gtest.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <unistd.h>

#include "base/util/errors.h"
#include "base/util/file_io.h"
#include "base/util/npy.h"
#include "base/util/sha256.h"
#include "base/util/torch_pickle.h"
#include "metrics/inception/feature_extractor.h"
#include "metrics/inception/fid_inception.h"
#include "metrics/inception/inception_weights.h"
#include "tests/support/test_support.h"

namespace repro::metrics {
namespace {

namespace fs = std::filesystem;
constexpr double kRelTol = 1e-4;

// The Python fixture, generated once per script version and shared by the test processes ctest starts
// (one per test): <tmp>/repro_features_fixture_<sha256(script)[:16]>, built in a scratch dir and renamed.
const fs::path& fixture_dir() {
  static const fs::path dir = [] {
    const std::string script = test::source_dir() + "/tests/features/fid_inception_reference.py";
    const fs::path final_dir =
        fs::temp_directory_path() / ("repro_features_fixture_" + sha256_hex(read_file(script)).substr(0, 16));
    if (fs::exists(final_dir / "done")) return final_dir;
    const fs::path scratch = final_dir.string() + ".tmp-" + std::to_string(::getpid());
    fs::create_directories(scratch);
    const auto start = std::chrono::steady_clock::now();
    const int rc = test::run_python(
        "import runpy, sys\nsys.argv = ['fid_inception_reference.py', '.', '3']\n"
        "runpy.run_path('" +
            script + "', run_name='__main__')\n",
        scratch);
    if (rc != 0) throw std::runtime_error("fid_inception_reference.py failed with status " + std::to_string(rc));
    std::ofstream(scratch / "done") << "ok\n";
    std::error_code ec;
    fs::rename(scratch, final_dir, ec);
    if (ec) fs::remove_all(scratch);  // another process finished first
    std::cerr << "[fixture] python reference written in "
              << std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() << " s\n";
    return final_dir;
  }();
  return dir;
}

std::string fixture(const std::string& name) { return (fixture_dir() / name).string(); }

torch::Tensor load_npy_tensor(const std::string& path) {
  const NpyArray a = read_npy(path);
  if (a.descr == "|u1") {
    return torch::from_blob(const_cast<char*>(a.data.data()), a.shape, torch::kUInt8).clone();
  }
  std::vector<float> v = as_float32(a, path);
  return torch::from_blob(v.data(), a.shape, torch::kFloat32).clone();
}

// max |got - want| / max |want|
double rel_error(const torch::Tensor& got, const torch::Tensor& want) {
  EXPECT_EQ(got.sizes(), want.sizes());
  if (got.sizes() != want.sizes()) return INFINITY;
  return (got.to(torch::kFloat64) - want.to(torch::kFloat64)).abs().max().item<double>() /
         want.to(torch::kFloat64).abs().max().item<double>();
}

torch::Tensor as_tensor(const RowMatrixXf& m) {
  return torch::from_blob(const_cast<float*>(m.data()), {m.rows(), m.cols()}, torch::kFloat32).clone();
}

torch::Tensor nchw_input() { return load_npy_tensor(fixture("input.npy")).permute({0, 3, 1, 2}).contiguous(); }

std::string shape_str(const torch::Tensor& t) {
  std::string s;
  for (int64_t i = 0; i < t.dim(); ++i) s += (i ? "x" : "") + std::to_string(t.size(i));
  return s;
}

TEST(FidInception, KeysShapesAndParameterCountMatchPython) {
  FidInceptionV3 net;
  std::vector<std::string> params, buffers;
  int64_t count = 0;
  for (const auto& p : net->named_parameters(true)) {
    params.push_back(p.key() + " " + shape_str(p.value()));
    count += p.value().numel();
  }
  for (const auto& b : net->named_buffers(true)) buffers.push_back(b.key() + " " + shape_str(b.value()));
  EXPECT_EQ(params, test::read_lines(fixture("params.txt")));  // names, order and shapes
  EXPECT_EQ(buffers, test::read_lines(fixture("buffers.txt")));
  EXPECT_EQ(params.front(), "Conv2d_1a_3x3.conv.weight 32x3x3x3");
  EXPECT_EQ(params.back(), "fc.bias 1008");
  int64_t python_count = 0;
  for (const std::string& line : test::read_lines(fixture("params.txt"))) {
    int64_t numel = 1;
    std::stringstream dims(line.substr(line.find(' ') + 1));
    for (std::string d; std::getline(dims, d, 'x');) numel *= std::stoll(d);
    python_count += numel;
  }
  EXPECT_EQ(count, python_count);
  std::cerr << "[params] " << params.size() << " tensors, " << count << " parameters; " << buffers.size()
            << " buffers\n";
}

TEST(FidInception, NativeWithTorchScriptWeightsMatchesPython) {
  InceptionWeightsInfo info;
  FidInceptionV3 net = load_fid_inception(fixture("model.pt"), &info);
  EXPECT_EQ(info.format, "torchscript");
  EXPECT_EQ(info.sha256, sha256_file_hex(fixture("model.pt")));
  EXPECT_TRUE(info.comparable_with_published);
  torch::NoGradGuard no_grad;
  const InceptionTaps taps = net->forward(nchw_input());
  const double e_pool = rel_error(taps.pool_3, load_npy_tensor(fixture("pool_3.npy")));
  const double e_conv = rel_error(taps.mixed_6_conv, load_npy_tensor(fixture("mixed_6_conv.npy")));
  const double e_spatial = rel_error(spatial_features(taps.mixed_6_conv), load_npy_tensor(fixture("spatial.npy")));
  const double e_logits = rel_error(taps.logits, load_npy_tensor(fixture("logits.npy")));
  std::cerr << "[native vs python] rel err pool_3 " << e_pool << ", mixed_6/conv " << e_conv << ", spatial "
            << e_spatial << ", logits " << e_logits << "\n";
  EXPECT_LE(e_pool, kRelTol);
  EXPECT_LE(e_conv, kRelTol);
  EXPECT_LE(e_spatial, kRelTol);
  EXPECT_LE(e_logits, kRelTol);
}

TEST(FidInception, TorchScriptModuleRunInCppMatchesPython) {
  torch::jit::Module module = torch::jit::load(fixture("model.pt"));
  module.eval();
  torch::NoGradGuard no_grad;
  const auto out = module.forward({nchw_input()}).toTuple();
  ASSERT_EQ(out->elements().size(), 3u);
  const double e_pool = rel_error(out->elements()[0].toTensor(), load_npy_tensor(fixture("pool_3.npy")));
  const double e_conv = rel_error(out->elements()[1].toTensor(), load_npy_tensor(fixture("mixed_6_conv.npy")));
  const double e_logits = rel_error(out->elements()[2].toTensor(), load_npy_tensor(fixture("logits.npy")));
  std::cerr << "[torch::jit vs python] rel err pool_3 " << e_pool << ", mixed_6/conv " << e_conv << ", logits "
            << e_logits << "\n";
  EXPECT_LE(e_pool, kRelTol);
  EXPECT_LE(e_conv, kRelTol);
  EXPECT_LE(e_logits, kRelTol);
}

TEST(FidInception, StateDictPthLoadsTheSameWeightsAsTorchScript) {
  InceptionWeightsInfo info_pt, info_pth;
  FidInceptionV3 from_pt = load_fid_inception(fixture("model.pt"), &info_pt);
  FidInceptionV3 from_pth = load_fid_inception(fixture("state_dict.pth"), &info_pth);
  EXPECT_EQ(info_pth.format, "state_dict");
  const auto a = from_pt->named_parameters(true), b = from_pth->named_parameters(true);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i].value(), b[i].value())) << a[i].key();
  const auto ba = from_pt->named_buffers(true), bb = from_pth->named_buffers(true);
  for (size_t i = 0; i < ba.size(); ++i) EXPECT_TRUE(torch::equal(ba[i].value(), bb[i].value())) << ba[i].key();
}

// NVIDIA's layout, written by nvidia_layout_fixture.py from the fixture's state dict (next to it,
// once per version of that script).
std::string nvidia_fixture(const std::string& name) {
  static const fs::path dir = [] {
    const std::string script = test::source_dir() + "/tests/features/nvidia_layout_fixture.py";
    const fs::path d = fixture_dir() / ("nvidia_" + sha256_hex(read_file(script)).substr(0, 16));
    if (fs::exists(d / "done")) return d;
    const fs::path scratch = d.string() + ".tmp-" + std::to_string(::getpid());
    fs::create_directories(scratch);
    fs::copy_file(fixture("state_dict.pth"), scratch / "state_dict.pth");
    const int rc = test::run_python("import runpy, sys\nsys.argv = ['nvidia_layout_fixture.py', '" + scratch.string() +
                                        "']\nrunpy.run_path('" + script + "', run_name='__main__')\n",
                                    scratch);
    if (rc != 0) throw std::runtime_error("nvidia_layout_fixture.py failed with status " + std::to_string(rc));
    fs::remove(scratch / "state_dict.pth");
    std::ofstream(scratch / "done") << "ok\n";
    std::error_code ec;
    fs::rename(scratch, d, ec);
    if (ec) fs::remove_all(scratch);
    return d;
  }();
  return (dir / name).string();
}

TEST(FidInception, NvidiaNamesMapToPytorchFidNames) {
  EXPECT_EQ(nvidia_to_pytorch_fid("layers.conv.weight"), "Conv2d_1a_3x3.conv.weight");
  EXPECT_EQ(nvidia_to_pytorch_fid("layers.conv_4.var"), "Conv2d_4a_3x3.bn.running_var");
  EXPECT_EQ(nvidia_to_pytorch_fid("layers.mixed.tower.conv_1.beta"), "Mixed_5b.branch5x5_2.bn.bias");
  EXPECT_EQ(nvidia_to_pytorch_fid("layers.mixed_3.conv.weight"), "Mixed_6a.branch3x3.conv.weight");
  EXPECT_EQ(nvidia_to_pytorch_fid("layers.mixed_6.conv.mean"), "Mixed_6d.branch1x1.bn.running_mean");  // the sFID tap
  EXPECT_EQ(nvidia_to_pytorch_fid("layers.mixed_7.tower_1.conv_4.weight"), "Mixed_6e.branch7x7dbl_5.conv.weight");
  EXPECT_EQ(nvidia_to_pytorch_fid("layers.mixed_8.tower_1.conv_3.weight"), "Mixed_7a.branch7x7x3_4.conv.weight");
  EXPECT_EQ(nvidia_to_pytorch_fid("layers.mixed_10.tower_1_mixed_conv_1.beta"), "Mixed_7c.branch3x3dbl_3b.bn.bias");
  EXPECT_EQ(nvidia_to_pytorch_fid("output.weight"), "fc.weight");
  EXPECT_EQ(nvidia_to_pytorch_fid("layers.mixed_9.weight"), std::nullopt);
  EXPECT_EQ(nvidia_to_pytorch_fid("layers.mixed_8.conv.weight"), std::nullopt);  // Mixed_7a has no 1x1 branch
  EXPECT_EQ(nvidia_to_pytorch_fid("Conv2d_1a_3x3.conv.weight"), std::nullopt);
}

TEST(FidInception, NvidiaLayoutTorchScriptLoadsTheSameNetworkAsPytorchFidLayout) {
  InceptionWeightsInfo nv_info, pf_info;
  FidInceptionV3 nv = load_fid_inception(nvidia_fixture("nvidia.pt"), &nv_info);
  FidInceptionV3 pf = load_fid_inception(nvidia_fixture("gamma1.pth"), &pf_info);
  EXPECT_EQ(nv_info.format, "torchscript");
  EXPECT_FALSE(nv_info.pinned);  // a test file, not NVIDIA's
  const auto a = nv->named_parameters(true), b = pf->named_parameters(true);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i].value(), b[i].value())) << a[i].key();
  const auto ba = nv->named_buffers(true), bb = pf->named_buffers(true);
  for (size_t i = 0; i < ba.size(); ++i) {
    if (ba[i].key().find("num_batches_tracked") == std::string::npos) {
      EXPECT_TRUE(torch::equal(ba[i].value(), bb[i].value())) << ba[i].key();
    }
  }
}

TEST(FidInception, AFileNamedLikeAPublishedOneMustHaveItsDigest) {
  test::TempDir dir;
  const std::string fake = dir.file("inception-2015-12-05.pt");
  fs::copy_file(fixture("model.pt"), fake);
  try {
    load_fid_inception(fake, nullptr);
    ADD_FAILURE() << "no error";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find(kNvidiaInceptionSha256), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(kNvidiaInceptionUrl), std::string::npos) << e.what();
  }
}

TEST(FeatureExtractor, Uint8ImagesEndToEndMatchPythonTf1Pipeline) {
  InceptionWeightsInfo info;
  FidInceptionV3 net = load_fid_inception(fixture("model.pt"), &info);
  FeatureExtractorOptions options;
  options.batch_size = 1;  // two batches: rows land in input order
  FeatureExtractor extractor(net, info, options);
  const NpyArray images = read_npy(fixture("images.npy"));
  ASSERT_EQ(images.shape, (std::vector<int64_t>{2, 21, 34, 3}));
  std::vector<std::pair<int64_t, int64_t>> calls;
  const InceptionFeatures f =
      extractor.compute(reinterpret_cast<const uint8_t*>(images.data.data()), 2, 21, 34, 3, FeatureTaps{},
                        [&](int64_t done, int64_t total) { calls.emplace_back(done, total); });
  EXPECT_EQ(calls, (std::vector<std::pair<int64_t, int64_t>>{{1, 2}, {2, 2}}));
  ASSERT_EQ(f.pool_3.rows(), 2);
  ASSERT_EQ(f.pool_3.cols(), kPoolDim);
  ASSERT_EQ(f.spatial.cols(), kSpatialDim);
  ASSERT_EQ(f.logits.cols(), kLogitsDim);
  const double e_pool = rel_error(as_tensor(f.pool_3), load_npy_tensor(fixture("e2e_pool_3.npy")));
  const double e_spatial = rel_error(as_tensor(f.spatial), load_npy_tensor(fixture("e2e_spatial.npy")));
  const double e_logits = rel_error(as_tensor(f.logits), load_npy_tensor(fixture("e2e_logits.npy")));
  std::cerr << "[extractor vs numpy TF1 resize + python] rel err pool_3 " << e_pool << ", spatial " << e_spatial
            << ", logits " << e_logits << "\n";
  EXPECT_LE(e_pool, kRelTol);
  EXPECT_LE(e_spatial, kRelTol);
  EXPECT_LE(e_logits, kRelTol);
  EXPECT_NE(extractor.description().find(info.sha256), std::string::npos);

  FeatureTaps only_pool;
  only_pool.spatial = only_pool.logits = false;
  const InceptionFeatures g =
      extractor.compute(reinterpret_cast<const uint8_t*>(images.data.data()), 1, 21, 34, 3, only_pool);
  EXPECT_EQ(g.pool_3.rows(), 1);
  EXPECT_EQ(g.spatial.size(), 0);
  EXPECT_EQ(g.logits.size(), 0);
}

TEST(SpatialFeatures, FlattensFirstSevenChannelsInHwcOrder) {
  // value = 1000 * c + 10 * h + w identifies each element; numpy's x.transpose(0, 2, 3, 1)[..., :7].reshape(N, -1)
  const int64_t n = 2, c = 9, h = 3, w = 4;
  torch::Tensor x = torch::empty({n, c, h, w});
  for (int64_t b = 0; b < n; ++b)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t y = 0; y < h; ++y)
        for (int64_t xx = 0; xx < w; ++xx) x[b][ch][y][xx] = 100000 * b + 1000 * ch + 10 * y + xx;
  const torch::Tensor s = spatial_features(x);
  ASSERT_EQ(s.sizes(), (std::vector<int64_t>{n, h * w * 7}));
  for (int64_t b = 0; b < n; ++b)
    for (int64_t y = 0; y < h; ++y)
      for (int64_t xx = 0; xx < w; ++xx)
        for (int64_t ch = 0; ch < 7; ++ch)
          EXPECT_EQ(s[b][(y * w + xx) * 7 + ch].item<float>(), 100000 * b + 1000 * ch + 10 * y + xx);
  EXPECT_EQ(kSpatialDim, 2023);
}

TEST(RandomInception, DeterministicBySeed) {
  InceptionWeightsInfo i1, i2, i3;
  FidInceptionV3 a = load_fid_inception(kRandomInception, &i1);
  FidInceptionV3 b = load_fid_inception(kRandomInception, &i2);
  FidInceptionV3 c = load_fid_inception(std::string(kRandomInception) + ":7", &i3);
  EXPECT_EQ(i1.format, "random");
  EXPECT_EQ(i1.seed, kRandomInceptionSeed);
  EXPECT_EQ(i3.seed, 7u);
  EXPECT_FALSE(i1.comparable_with_published);
  EXPECT_TRUE(i1.sha256.empty());
  const auto pa = a->named_parameters(true), pb = b->named_parameters(true), pc = c->named_parameters(true);
  for (size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(torch::equal(pa[i].value(), pb[i].value())) << pa[i].key();
  EXPECT_FALSE(torch::equal(pa[0].value(), pc[0].value()));
  for (const auto& buf : a->named_buffers(true)) {
    if (buf.key().find("running_mean") != std::string::npos) {
      EXPECT_EQ(buf.value().abs().max().item<float>(), 0.0f);
    }
    if (buf.key().find("running_var") != std::string::npos) {
      EXPECT_TRUE(torch::all(buf.value() == 1).item<bool>());
    }
  }
  // A small input (the network accepts >= 75 x 75) keeps this fast: same seed, same features.
  torch::NoGradGuard no_grad;
  const torch::Tensor x = torch::rand({1, 3, 96, 96}, torch::TensorOptions().dtype(torch::kFloat32)) * 2 - 1;
  const InceptionTaps ta = a->forward(x), tb = b->forward(x);
  EXPECT_TRUE(torch::equal(ta.pool_3, tb.pool_3));
  EXPECT_TRUE(torch::isfinite(ta.logits).all().item<bool>());
  EXPECT_GT(ta.pool_3.abs().max().item<float>(), 0.0f);
  EXPECT_THROW(load_fid_inception("random-inception:x", nullptr), ConfigError);
}

TEST(InceptionWeights, MissingFileIsAClearIoError) {
  const std::string path = "/nonexistent/inception-2015-12-05.pt";
  try {
    load_fid_inception(path, nullptr);
    FAIL() << "no error";
  } catch (const IoError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find(kNvidiaInceptionUrl), std::string::npos) << msg;
    EXPECT_NE(msg.find(kPytorchFidInceptionUrl), std::string::npos) << msg;
    EXPECT_NE(msg.find("SHA-256"), std::string::npos) << msg;
    EXPECT_NE(msg.find(kRandomInception), std::string::npos) << msg;
  }
  FeatureExtractorOptions options;
  options.weights = path;
  EXPECT_THROW(FeatureExtractor{options}, IoError);
}

TEST(InceptionWeights, OtherLayoutNamesTheUnmatchedKeys) {
  test::TempDir dir;
  const std::string path = dir.file("other.pth");
  const float v[4] = {1, 2, 3, 4};
  write_state_dict_file(
      path, {{"features.0.weight", "float32", {4}, std::string(reinterpret_cast<const char*>(v), sizeof v)}});
  const std::string msg = test::error_message([&] { load_fid_inception(path, nullptr); });
  EXPECT_NE(msg.find("unknown keys: features.0.weight"), std::string::npos) << msg;
  EXPECT_NE(msg.find("missing keys: Conv2d_1a_3x3.bn.bias"), std::string::npos) << msg;
  EXPECT_THROW(load_fid_inception(path, nullptr), IoError);
}

TEST(InceptionWeights, PytorchFidFileNameChecksItsSha256) {
  test::TempDir dir;
  const std::string path = dir.file("pt_inception-2015-12-05-6726825d.pth");
  FidInceptionV3 net;
  std::vector<TensorBlob> blobs;
  for (const auto& p : net->named_parameters(true)) {
    torch::Tensor t = p.value().contiguous();
    blobs.push_back(
        {p.key(), "float32", t.sizes().vec(), std::string(static_cast<const char*>(t.data_ptr()), t.nbytes())});
  }
  for (const auto& b : net->named_buffers(true)) {
    if (b.key().find("num_batches_tracked") != std::string::npos) continue;  // optional
    torch::Tensor t = b.value().contiguous();
    blobs.push_back(
        {b.key(), "float32", t.sizes().vec(), std::string(static_cast<const char*>(t.data_ptr()), t.nbytes())});
  }
  write_state_dict_file(path, blobs);
  const std::string msg = test::error_message([&] { load_fid_inception(path, nullptr); });
  EXPECT_NE(msg.find(std::string("is not the one of pytorch-fid's pt_inception-2015-12-05-6726825d.pth (") +
                     kPytorchFidSha256),
            std::string::npos)
      << msg;
  // The same file under another name loads (num_batches_tracked absent is fine).
  fs::rename(path, dir.file("inception.pth"));
  InceptionWeightsInfo info;
  EXPECT_NO_THROW(load_fid_inception(dir.file("inception.pth"), &info));
  EXPECT_EQ(info.sha256, sha256_file_hex(dir.file("inception.pth")));
}

TEST(FeatureExtractor, RejectsBadInputAndOptions) {
  FeatureExtractorOptions options;
  options.batch_size = 0;
  EXPECT_THROW(FeatureExtractor{options}, ConfigError);
  options.batch_size = 4;
  options.device = "toaster";
  EXPECT_THROW(FeatureExtractor{options}, ConfigError);
  options.device = "cpu";
  FeatureExtractor extractor(options);
  const std::vector<uint8_t> gray(2 * 8 * 8 * 1, 0);
  EXPECT_THROW(extractor.compute(gray.data(), 2, 8, 8, 1), DataError);
  const InceptionFeatures none = extractor.compute(gray.data(), 0, 8, 8, 3);
  EXPECT_EQ(none.pool_3.rows(), 0);
  EXPECT_NE(extractor.description().find("not comparable"), std::string::npos);
}

}  // namespace
}  // namespace repro::metrics
