// The folder listing against the reference's _list_image_files_recursively run in Python, and the
// loaded NHWC buffer against the reference pipeline (Image.open, convert("RGB"), center_crop_arr).
#include "datasets/image_folder.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "base/util/errors.h"
#include "base/util/npy.h"
#include "tests/datasets/pillow_reference.h"
#include "tests/support/test_support.h"

namespace repro::datasets {
namespace {

namespace fs = std::filesystem;

// The reference function (os.listdir / os.path.join / os.path.isdir are what bf.* do for local
// paths), with "webp" added as in ours.
const char* kReferenceListing = R"(
import os

def _list_image_files_recursively(data_dir):
    results = []
    for entry in sorted(os.listdir(data_dir)):
        full_path = os.path.join(data_dir, entry)
        ext = entry.split(".")[-1]
        if "." in entry and ext.lower() in ["jpg", "jpeg", "png", "gif", "webp"]:
            results.append(full_path)
        elif os.path.isdir(full_path):
            results.extend(_list_image_files_recursively(full_path))
    return results
)";

TEST(ImageFolder, ListingOrderIsTheReferences) {
  test::TempDir dir;
  const std::string script = std::string(kReferenceListing) + R"(
tree = ["data/b.png", "data/a-b.PNG", "data/a/x.jpg", "data/a/y.txt", "data/a/sub/z.gif", "data/Z.jpeg",
        "data/.hidden.gif", "data/c/d/e.webp", "data/noext", "data/a_", "data/\u00e9.png", "data/e.png",
        "data/10.jpg", "data/9.jpg", "data/png", "data/x.png.bak", "data/c.JpG", "data/c/d.gif",
        "data/dir.png/inner.png"]  # a directory with an image extension is listed, not entered
for p in tree:
    os.makedirs(os.path.dirname(p), exist_ok=True)
    open(p, "w").close()
os.symlink("a/sub", "data/link")
# The one deliberate difference: "link" reaches a/sub, already listed, so it adds nothing here
# (each directory is entered once; see the header).
listing = [p for p in _list_image_files_recursively("data") if not p.startswith("data/link/")]
open("listing.txt", "w", encoding="utf-8").write("\n".join(listing))
)";
  ASSERT_EQ(test::run_python(script, dir.path()), 0);
  const std::vector<std::string> want = test::read_lines(dir.file("listing.txt"));
  std::vector<std::string> got = list_image_files_recursively(dir.file("data"));
  const std::string prefix = dir.path().string() + "/";
  for (auto& p : got) {
    ASSERT_EQ(p.rfind(prefix, 0), 0u) << p;
    p = p.substr(prefix.size());
  }
  EXPECT_EQ(got, want);
  // Not sorted() of the full paths: the directory "a" sorts as "a", before "a-b.PNG", though
  // "data/a-b.PNG" < "data/a/x.jpg".
  const auto at = [&](const std::string& p) { return std::find(want.begin(), want.end(), p) - want.begin(); };
  EXPECT_LT(at("data/a/x.jpg"), at("data/a-b.PNG"));
  EXPECT_LT(at("data/a-b.PNG"), static_cast<long>(want.size()));
  EXPECT_LT(at("data/dir.png"), static_cast<long>(want.size()));
}

TEST(ImageFolder, LoadsEveryImagePreprocessedAsTheReference) {
  test::TempDir dir;
  const std::string script = std::string(test_util::kPillowPrelude) + kReferenceListing + R"(
os.makedirs("data/sub", exist_ok=True)
photo(178, 218, seed=1).save("data/celeba.jpg", quality=90)
photo(300, 200, seed=2).save("data/sub/wide.png")
photo(40, 30, seed=3).quantize(50).save("data/small.gif")
photo(64, 64, seed=4).save("data/b.webp", quality=80)
l = Image.fromarray(np.array(photo(50, 90, seed=5))[..., 1], "L"); l.save("data/grey.PNG")
paths = _list_image_files_recursively("data")
np.save("want.npy", np.stack([center_crop_arr(Image.open(p).convert("RGB"), 32) for p in paths]))
open("listing.txt", "w").write("\n".join(paths))
)";
  ASSERT_EQ(test::run_python(script, dir.path()), 0);
  const ImageFolder folder = load_image_folder(dir.file("data"), 32);
  const std::vector<std::string> want_paths = test::read_lines(dir.file("listing.txt"));
  ASSERT_EQ(folder.size(), want_paths.size());
  for (size_t i = 0; i < want_paths.size(); ++i) EXPECT_EQ(folder.paths[i], dir.file(want_paths[i]));
  const NpyArray want = read_npy(dir.file("want.npy"));
  ASSERT_EQ(want.shape, (std::vector<int64_t>{5, 32, 32, 3}));
  ASSERT_EQ(folder.images.size(), want.data.size());
  int max_diff = 0;
  for (size_t i = 0; i < want.data.size(); ++i)
    max_diff = std::max(max_diff, std::abs(int(folder.images[i]) - int(uint8_t(want.data[i]))));
  EXPECT_EQ(max_diff, 0);
  test_util::report("load_image_folder, 5 images (JPEG, PNG, GIF, WebP, grey PNG) at 32", {max_diff, 0.0});
}

TEST(ImageFolder, EmptyFolderOrNoImagesIsADataErrorNamingTheFolder) {
  test::TempDir dir;
  fs::create_directories(dir.path() / "empty");
  fs::create_directories(dir.path() / "no_images" / "sub");
  std::ofstream(dir.file("no_images/readme.txt")) << "text";
  std::ofstream(dir.file("no_images/sub/notes")) << "text";
  for (const char* name : {"empty", "no_images"}) {
    const std::string folder = dir.file(name);
    try {
      load_image_folder(folder, 32);
      ADD_FAILURE() << name << ": no error";
    } catch (const DataError& e) {
      EXPECT_NE(std::string(e.what()).find(folder), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("no images"), std::string::npos) << e.what();
    }
  }
}

TEST(ImageFolder, MissingFolderIsAnIoError) {
  test::TempDir dir;
  EXPECT_THROW(load_image_folder(dir.file("absent"), 32), IoError);
  const std::string msg = test::error_message([&] { list_image_files_recursively(dir.file("absent")); });
  EXPECT_NE(msg.find("absent"), std::string::npos) << msg;
}

TEST(ImageFolder, BadImageIsAnIoErrorNamingTheFile) {
  test::TempDir dir;
  ASSERT_EQ(test::run_python(std::string(test_util::kPillowPrelude) + R"(
os.makedirs("data", exist_ok=True)
photo(40, 40, seed=1).save("data/a.png")
photo(40, 40, seed=2).save("good.jpg", quality=90)
open("data/b.jpg", "wb").write(open("good.jpg", "rb").read()[:700])
open("data/c.png", "w").write("not an image")
)",
                             dir.path()),
            0);
  // The first bad file in listing order stops the load: b.jpg (truncated), then c.png (text).
  for (const char* bad : {"b.jpg", "c.png"}) {
    EXPECT_THROW(load_image_folder(dir.file("data"), 32), IoError);
    const std::string msg = test::error_message([&] { load_image_folder(dir.file("data"), 32); });
    EXPECT_NE(msg.find(dir.file(std::string("data/") + bad)), std::string::npos) << msg;
    fs::remove(dir.path() / "data" / bad);
  }
  EXPECT_EQ(load_image_folder(dir.file("data"), 32).size(), 1u);
}

// A symlink to an ancestor: the reference lists the tree again under data/loop/loop/... until the
// path fails with ELOOP (1 image became 41); each directory is entered once here. A second link to
// a directory already listed adds nothing either, so links cannot multiply the listing.
TEST(ImageFolder, SymlinkLoopsAreListedOnce) {
  test::TempDir dir;
  const fs::path data = dir.path() / "data";
  fs::create_directories(data / "sub");
  std::ofstream(data / "sub" / "x.png").put('x');
  fs::create_directory_symlink("..", data / "sub" / "loop");  // data/sub/loop -> data
  fs::create_directory_symlink("sub", data / "twice");        // data/twice -> data/sub
  const std::vector<std::string> got = list_image_files_recursively(data.string());
  EXPECT_EQ(got, std::vector<std::string>{(data / "sub" / "x.png").string()});
}

}  // namespace
}  // namespace repro::datasets
