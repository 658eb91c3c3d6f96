// `repro eval` and `repro eval ref` as users run them, with the seeded random-weight network:
// the reference file's layout (read by numpy), FID against scipy on the files' statistics, stored
// statistics giving the numbers images give, identical batches, the printed lines, and errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "base/util/file_io.h"
#include "tests/support/test_support.h"

using namespace repro;
namespace fs = std::filesystem;

namespace {

using test::repro_cli;

const std::string kNet = " --features random-inception --threads 2";

class EvalCli : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(test::run_python("import numpy as np\nr = np.random.default_rng(5)\n"
                               "np.savez('ref.npz', r.integers(0, 256, (12, 16, 16, 3), dtype=np.uint8))\n"
                               "np.savez('samples.npz', r.integers(0, 256, (10, 16, 16, 3), dtype=np.uint8))\n"
                               "np.savez('gray.npz', r.integers(0, 256, (10, 16, 16), dtype=np.uint8))\n"
                               "np.savez('noarr.npz', x=np.zeros(3))\n",
                               dir_.path()),
              0);
  }
  std::string f(const std::string& name) const { return dir_.file(name); }
  nlohmann::json eval_json(const std::string& ref, const std::string& extra = "") {
    std::string out;
    // stdout alone into the file (run_command merges stderr into its output after the command).
    EXPECT_EQ(repro_cli("eval --ref " + ref + " --samples " + f("samples.npz") + kNet + " --json " + extra + " > " +
                            f("eval.json") + " 2> " + f("eval.err") + "; exit $?",
                        &out),
              0)
        << read_file(f("eval.err"));
    return nlohmann::json::parse(read_file(f("eval.json")));
  }
  test::TempDir dir_;
};

TEST_F(EvalCli, RefWritesStatisticsFeaturesAndRecipeThatNumpyReads) {
  std::string out;
  ASSERT_EQ(repro_cli("eval ref " + f("ref.npz") + " --out " + f("R.npz") + kNet, &out), 0) << out;
  ASSERT_EQ(
      test::run_python("import numpy as np, json\nz = np.load('R.npz')\n"
                       "assert sorted(z.files) == ['arr_0', 'mu', 'mu_s', 'pool_3', 'sigma', 'sigma_s'], z.files\n"
                       "assert z['mu'].shape == (2048,) and z['sigma'].shape == (2048, 2048), z['mu'].shape\n"
                       "assert z['mu_s'].shape == (2023,) and z['pool_3'].shape == (12, 2048)\n"
                       "assert np.allclose(z['mu'], z['pool_3'].astype(np.float64).mean(0), rtol=1e-5, atol=1e-6)\n"
                       "assert np.allclose(z['sigma'], np.cov(z['pool_3'].astype(np.float64), rowvar=False), "
                       "rtol=1e-4, atol=1e-6)\n"
                       "assert (z['arr_0'] == np.load('ref.npz')['arr_0']).all()\n"
                       "r = json.load(open('R.npz.recipe.json'))\n"
                       "assert r['images'] == 12 and r['weights'] == 'random:20151205', r\n"
                       "assert r['source_kind'] == 'npz' and len(r['source_fingerprint']) == 64, r\n",
                       dir_.path()),
      0);
}

TEST_F(EvalCli, FidEqualsScipyOnTheStatisticsOfBothBatches) {
  std::string out;
  ASSERT_EQ(repro_cli("eval ref " + f("ref.npz") + " --out " + f("R.npz") + kNet, &out), 0) << out;
  ASSERT_EQ(repro_cli("eval ref " + f("samples.npz") + " --out " + f("S.npz") + kNet, &out), 0) << out;
  const auto j = eval_json(f("R.npz"), "--metrics fid,sfid");
  // The evaluator's frechet_distance, by scipy on the files repro wrote.
  const std::string script =
      "import numpy as np, json\nfrom scipy import linalg\n"
      "def fd(m1, s1, m2, s2):\n"
      "    covmean, _ = linalg.sqrtm(s1.dot(s2), disp=False)\n"
      "    covmean = covmean.real\n"
      "    d = m1 - m2\n"
      "    return float(d.dot(d) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))\n"
      "a = np.load('S.npz'); b = np.load('R.npz')\n"
      "json.dump({'fid': fd(a['mu'], a['sigma'], b['mu'], b['sigma']), "
      "'sfid': fd(a['mu_s'], a['sigma_s'], b['mu_s'], b['sigma_s'])}, open('scipy.json', 'w'))\n";
  ASSERT_EQ(test::run_python(script, dir_.path()), 0);
  const auto want = nlohmann::json::parse(read_file(f("scipy.json")));
  for (const char* k : {"fid", "sfid"}) {
    const double got = j["metrics"][k], expected = want[k];
    std::cerr << "[eval vs scipy] " << k << " " << got << " vs " << expected << "\n";
    EXPECT_NEAR(got, expected, 1e-4 * expected) << k;
  }
}

TEST_F(EvalCli, StoredStatisticsGiveTheNumbersTheImagesGive) {
  std::string out;
  ASSERT_EQ(repro_cli("eval ref " + f("ref.npz") + " --out " + f("R.npz") + " --no-images" + kNet, &out), 0) << out;
  const auto from_images = eval_json(f("ref.npz"));
  const auto from_file = eval_json(f("R.npz"));
  EXPECT_EQ(from_images["reference_statistics"], "images");
  EXPECT_EQ(from_file["reference_statistics"], "file");
  EXPECT_EQ(from_file["reference_features"], "file");
  EXPECT_FALSE(from_file["comparable_with_published"].get<bool>());
  for (const char* k : {"is", "fid", "sfid", "precision", "recall"}) {
    const double a = from_images["metrics"][k], b = from_file["metrics"][k];
    EXPECT_NEAR(a, b, 1e-6 * std::max(1.0, std::abs(a))) << k;
  }
}

TEST_F(EvalCli, PrintsTheEvaluatorsLinesAndIdenticalBatchesAgree) {
  std::string out;
  ASSERT_EQ(repro_cli("eval --ref " + f("samples.npz") + " --samples " + f("samples.npz") + kNet, &out), 0) << out;
  for (const char* line : {"Inception Score: ", "\nFID: ", "\nsFID: ", "\nPrecision: 1.0\n", "\nRecall: 1.0\n"})
    EXPECT_NE(out.find(line), std::string::npos) << line << " in\n" << out;
  const double fid = std::stod(out.substr(out.find("\nFID: ") + 6));
  EXPECT_LT(std::abs(fid), 1e-3) << out;
}

TEST_F(EvalCli, BadInputIsAClearErrorWithItsExitCode) {
  std::string out;
  ASSERT_EQ(repro_cli("eval ref " + f("ref.npz") + " --out " + f("R.npz") + kNet, &out), 0) << out;
  // Statistics of another network.
  EXPECT_EQ(repro_cli("eval --ref " + f("R.npz") + " --samples " + f("samples.npz") +
                          " --features random-inception:7 --threads 2",
                      &out),
            4);
  EXPECT_NE(out.find("recompute them with `repro eval ref`"), std::string::npos) << out;
  EXPECT_EQ(repro_cli("eval --ref " + f("R.npz") + " --samples " + f("gray.npz") + kNet, &out), 4);
  EXPECT_NE(out.find("expected uint8 images [N, H, W, 3]"), std::string::npos) << out;
  EXPECT_EQ(repro_cli("eval --ref " + f("R.npz") + " --samples " + f("noarr.npz") + kNet, &out), 4);
  EXPECT_NE(out.find("noarr.npz: no arr_0"), std::string::npos) << out;
  EXPECT_EQ(
      repro_cli("eval --ref " + f("R.npz") + " --samples " + f("samples.npz") + " --metrics fid,kid" + kNet, &out), 2);
  EXPECT_NE(out.find("unknown metric 'kid'"), std::string::npos) << out;
  EXPECT_EQ(repro_cli("eval --ref " + f("R.npz") + kNet, &out), 2);
  EXPECT_NE(out.find("--ref and --samples are required"), std::string::npos) << out;
  EXPECT_EQ(
      repro_cli("eval --ref " + f("R.npz") + " --samples " + f("samples.npz") + " --features " + f("none.pth"), &out),
      3);
  EXPECT_NE(out.find("FID Inception weights not found"), std::string::npos) << out;
  EXPECT_NE(out.find("nvlabs-fi-cdn.nvidia.com"), std::string::npos) << out;
}

}  // namespace
