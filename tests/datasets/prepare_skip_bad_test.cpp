// `repro data prepare --skip-bad` on an image folder: an image a decoder rejects by a resource limit
// (a DataError, not only a corrupt file's IoError) is that file's fault, so it is listed and
// skipped; without --skip-bad the prepare stops with that DataError.
#include "datasets/prepare.h"

#include <gtest/gtest.h>

#include <string>

#include "base/util/errors.h"
#include "tests/datasets/pillow_reference.h"
#include "tests/support/test_support.h"

namespace repro::datasets {
namespace {

// Two good photos around a 1 x 1,000,000 PNG (past the side limit) and a truncated JPEG.
const char* kFolder = R"(
os.makedirs("src")
photo(20, 16, seed=1).save("src/a.png")
Image.new("RGB", (1, 1000000)).save("src/b_tall.png")
photo(20, 16, seed=2).save("src/c.jpg", quality=90)
data = open("src/c.jpg", "rb").read()
open("src/d_cut.jpg", "wb").write(data[: len(data) // 2])
photo(18, 22, seed=3).save("src/e.png")
)";

PrepareOptions folder_options(const test::TempDir& dir, bool skip_bad) {
  PrepareOptions o;
  o.dataset = "folder";
  o.source = dir.file("src");
  o.out = dir.file(skip_bad ? "out_skip" : "out_strict");
  o.size = 8;
  o.skip_bad = skip_bad;
  return o;
}

TEST(PrepareSkipBad, ImagesBeyondTheLimitsAreSkippedAndListed) {
  test::TempDir dir;
  ASSERT_EQ(test::run_python(std::string(test_util::kPillowPrelude) + kFolder, dir.path()), 0);
  const PrepareResult r = prepare_dataset(folder_options(dir, true));
  EXPECT_EQ(r.manifest.count, 3);
  ASSERT_EQ(r.skipped.size(), 2u);
  EXPECT_NE(r.skipped[0].find(dir.file("src/b_tall.png") + ": PNG IHDR"), std::string::npos) << r.skipped[0];
  EXPECT_NE(r.skipped[0].find("1 x 1000000"), std::string::npos) << r.skipped[0];
  EXPECT_NE(r.skipped[1].find(dir.file("src/d_cut.jpg")), std::string::npos) << r.skipped[1];
}

TEST(PrepareSkipBad, WithoutSkipBadTheLimitIsADataErrorNamingTheFile) {
  test::TempDir dir;
  ASSERT_EQ(test::run_python(std::string(test_util::kPillowPrelude) + kFolder, dir.path()), 0);
  try {
    prepare_dataset(folder_options(dir, false));
    ADD_FAILURE() << "prepared a folder holding a 1 x 1,000,000 image";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find(dir.file("src/b_tall.png")), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace repro::datasets
