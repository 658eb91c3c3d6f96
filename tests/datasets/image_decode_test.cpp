// decode_image_file against Pillow 9.4: Image.open(f).convert("RGB") must give the same pixels
// for every format and mode below (lossy JPEG and WebP included: same libraries, same settings),
// and broken files must throw IoError naming the file, where Pillow fails too.
#include "datasets/image_decode.h"

#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "base/util/errors.h"
#include "tests/datasets/pillow_reference.h"
#include "tests/support/test_support.h"

namespace repro::datasets {
namespace {

using test_util::pixel_diff;
using test_util::read_rgb_npy;

// Each case: a file Pillow writes and whose decode it saves as <file>.npy.
const char* kFixtures = R"(
cases = []
def case(name, im, **save_args):
    im.save(name, **save_args)
    cases.append(name)

rgb = photo(37, 23, seed=1)           # odd sizes: partial MCUs and chroma blocks at the edges
big = photo(160, 120, seed=2)
alpha = Image.fromarray(np.array(photo(37, 23, seed=3))[..., 0], "L")
rgba = rgb.copy(); rgba.putalpha(alpha)

case("rgb_420.jpg", big, quality=90)                    # Pillow's default 4:2:0
case("rgb_444.jpg", rgb, quality=95, subsampling=0)
case("rgb_422.jpeg", rgb, quality=75, subsampling=1)
case("progressive.jpg", big, quality=85, progressive=True)
case("grey.jpg", rgb.convert("L"), quality=90)
case("cmyk.jpg", rgb.convert("CMYK"), quality=90)
case("rgb.png", rgb)
case("rgba.png", rgba)
case("grey.png", rgb.convert("L"))
case("grey_alpha.png", rgba.convert("LA"))
case("palette.png", rgb.quantize(37))
case("palette_trns.png", rgb.quantize(16), transparency=3)
case("bilevel.png", rgb.convert("1"))
case("grey16.png", Image.fromarray((np.array(rgb.convert("L")).astype(np.uint16) * 3 + 7).astype(np.uint16)))
case("pillow.gif", rgb.quantize(64))
case("pillow_trns.gif", rgb.quantize(64), transparency=5)
case("lossless.webp", rgb, lossless=True)
case("lossless_rgba.webp", rgba, lossless=True, exact=True)
case("lossy.webp", big, quality=80)
case("lossy_rgba.webp", rgba, quality=70)
case("animated.webp", rgb, save_all=True, append_images=[photo(37, 23, seed=9)], lossless=True)
case("png_named.jpg", rgb, format="PNG")             # the content decides, not the extension

# GIFs Pillow cannot write: a frame inside a larger screen, transparency, interlace, local palette,
# indices past the palette, no palette at all, a frame larger than the screen.
def lzw(indices, min_code_size):
    # Literal codes only, with a clear code before the code width would grow.
    clear = 1 << min_code_size
    width = min_code_size + 1
    run = max(1, (1 << width) - clear - 4)
    codes = []
    for k, v in enumerate(indices):
        if k % run == 0:
            codes.append(clear)
        codes.append(int(v))
    codes.append(clear + 1)
    bits = nbits = 0
    out = bytearray()
    for c in codes:
        bits |= c << nbits; nbits += width
        while nbits >= 8:
            out.append(bits & 255); bits >>= 8; nbits -= 8
    if nbits: out.append(bits & 255)
    blocks = b"".join(bytes([len(out[i:i + 255])]) + out[i:i + 255] for i in range(0, len(out), 255))
    return bytes([min_code_size]) + blocks + b"\0"

def palette_bytes(colors):
    return bytes(int(v) for c in colors for v in c)

def write_gif(name, screen, frame, index, global_pal=None, local_pal=None, transparency=None, interlace=False,
              min_code_size=8):
    sw, sh = screen; x0, y0 = frame; h, w = index.shape
    g = b"GIF89a" + struct.pack("<HH", sw, sh)
    if global_pal is not None:
        g += bytes([0x80 | 0x70 | (len(global_pal).bit_length() - 2), 0, 0]) + palette_bytes(global_pal)
    else:
        g += bytes([0x70, 0, 0])
    if transparency is not None:
        g += b"\x21\xf9\x04" + bytes([1, 0, 0, transparency, 0])
    flags = (0x40 if interlace else 0)
    if local_pal is not None:
        flags |= 0x80 | (len(local_pal).bit_length() - 2)
    g += b"," + struct.pack("<HHHH", x0, y0, w, h) + bytes([flags])
    if local_pal is not None:
        g += palette_bytes(local_pal)
    rows = list(range(h))
    if interlace:
        rows = list(range(0, h, 8)) + list(range(4, h, 8)) + list(range(2, h, 4)) + list(range(1, h, 2))
    g += lzw(np.concatenate([index[r] for r in rows]), min_code_size) + b";"
    open(name, "wb").write(g)
    cases.append(name)

rng = np.random.default_rng(7)
pal256 = rng.integers(0, 256, (256, 3))
pal16 = rng.integers(0, 256, (16, 3))
write_gif("frame_in_screen.gif", (20, 15), (3, 4), rng.integers(0, 256, (9, 11)), global_pal=pal256)
write_gif("frame_trns.gif", (20, 15), (3, 4), rng.integers(0, 256, (9, 11)), global_pal=pal256, transparency=200)
write_gif("interlaced.gif", (13, 19), (0, 0), rng.integers(0, 256, (19, 13)), global_pal=pal256, interlace=True)
write_gif("local_palette.gif", (12, 10), (1, 1), rng.integers(0, 16, (8, 9)), global_pal=pal256, local_pal=pal16)
write_gif("past_palette.gif", (6, 5), (0, 0), rng.integers(0, 4, (5, 6)), global_pal=pal16[:2], min_code_size=2)
write_gif("no_palette.gif", (6, 5), (0, 0), rng.integers(0, 256, (5, 6)))
write_gif("frame_past_screen.gif", (6, 4), (4, 2), rng.integers(0, 256, (4, 5)), global_pal=pal256, transparency=9)

for name in cases:
    save_rgb(name + ".npy", Image.open(name))
open("cases.txt", "w").write("\n".join(cases))
)";

class ImageDecode : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<test::TempDir>();
    python_status_ = test::run_python(std::string(test_util::kPillowPrelude) + kFixtures, dir_->path());
  }
  static void TearDownTestSuite() { dir_.reset(); }
  void SetUp() override { ASSERT_EQ(python_status_, 0) << "Pillow fixture script failed"; }

  static std::vector<std::string> cases() {
    std::ifstream in(dir_->file("cases.txt"));
    std::vector<std::string> names;
    for (std::string line; std::getline(in, line);) names.push_back(line);
    return names;
  }

  static std::unique_ptr<test::TempDir> dir_;
  static int python_status_;
};
std::unique_ptr<test::TempDir> ImageDecode::dir_;
int ImageDecode::python_status_ = -1;

TEST_F(ImageDecode, EqualsPillowConvertRgbForEveryFormatAndMode) {
  const auto names = cases();
  ASSERT_GE(names.size(), 29u);
  for (const auto& name : names) {
    const RgbImage want = read_rgb_npy(dir_->file(name + ".npy"));
    RgbImage got;
    ASSERT_NO_THROW(got = decode_image_file(dir_->file(name))) << name;
    ASSERT_EQ(got.width, want.width) << name;
    ASSERT_EQ(got.height, want.height) << name;
    const auto d = pixel_diff(got, want);
    EXPECT_EQ(d.max, 0) << name;
    test_util::report("decode " + name, d);
  }
}

// Pillow's decode of a file cut short, or of bytes that are no image at all, and ours.
const char* kBrokenFixtures = R"(
def cut(src, dst, keep):
    data = open(src, "rb").read()
    open(dst, "wb").write(data[:keep(len(data))])
    cases.append(dst)

cases = []
photo(160, 120, seed=2).save("good.jpg", quality=90)
photo(160, 120, seed=2).save("good_progressive.jpg", quality=90, progressive=True)
photo(64, 48, seed=3).save("good.png")
photo(64, 48, seed=3).quantize(64).save("good.gif")
photo(64, 48, seed=3).save("good.webp", quality=80)
cut("good.jpg", "truncated.jpg", lambda n: n * 6 // 10)
cut("good_progressive.jpg", "truncated_progressive.jpg", lambda n: n * 8 // 10)
cut("good.png", "truncated.png", lambda n: n // 2)
cut("good.gif", "truncated.gif", lambda n: n // 2)
cut("good.webp", "truncated.webp", lambda n: n // 2)
cut("good.jpg", "header_only.jpg", lambda n: 200)
cut("good.jpg", "no_eoi.jpg", lambda n: n - 2)       # scan data complete, EOI marker missing
open("text.png", "w").write("this is not an image\n"); cases.append("text.png")
open("empty.jpg", "w").close(); cases.append("empty.jpg")
open("html.gif", "w").write("<html>GIF89a</html>"); cases.append("html.gif")

failed = []
for name in cases:
    try:
        Image.open(name).convert("RGB")
    except Exception as e:
        failed.append(name)
open("pillow_failed.txt", "w").write("\n".join(failed))
open("cases.txt", "w").write("\n".join(cases))
)";

TEST(ImageDecodeBroken, CorruptAndTruncatedFilesThrowIoErrorNamingTheFile) {
  test::TempDir dir;
  ASSERT_EQ(test::run_python(std::string(test_util::kPillowPrelude) + kBrokenFixtures, dir.path()), 0);
  std::ifstream cases_in(dir.file("cases.txt")), failed_in(dir.file("pillow_failed.txt"));
  std::vector<std::string> cases, pillow_failed;
  for (std::string line; std::getline(cases_in, line);) cases.push_back(line);
  for (std::string line; std::getline(failed_in, line);) pillow_failed.push_back(line);
  EXPECT_EQ(pillow_failed, cases) << "every broken fixture should also fail in Pillow";
  ASSERT_EQ(cases.size(), 10u);
  for (const auto& name : cases) {
    const std::string path = dir.file(name);
    try {
      decode_image_file(path);
      ADD_FAILURE() << name << ": decoded without an error";
    } catch (const IoError& e) {
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
      std::cout << "[ error    ] " << e.what() << "\n";
    }
  }
}

TEST(ImageDecodeBroken, MissingFileIsAnIoError) {
  test::TempDir dir;
  const std::string msg = test::error_message([&] { decode_image_file(dir.file("absent.png")); });
  EXPECT_NE(msg.find("absent.png"), std::string::npos) << msg;
  EXPECT_THROW(decode_image_file(dir.file("absent.png")), IoError);
}

}  // namespace
}  // namespace repro::datasets
