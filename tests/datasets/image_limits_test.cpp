// Every decoder reads the image size from the header and applies the resource limits
// (base/util/limits.h: a side of at most 16384, at most 89,478,485 pixels) before it allocates a
// pixel buffer: a few-byte file that declares a giant image is a DataError naming the file and the
// header field, not gigabytes of memory. Default limits (no REPRO_MAX_* variable in tests).
#include <sys/mman.h>

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "base/util/errors.h"
#include "datasets/image_decode.h"
#include "tests/datasets/pillow_reference.h"
#include "tests/support/test_support.h"

namespace repro::datasets {
namespace {

using Bytes = std::vector<uint8_t>;

void put_le16(Bytes& b, int v) {
  b.push_back(static_cast<uint8_t>(v & 255));
  b.push_back(static_cast<uint8_t>(v >> 8));
}
void put_le24(Bytes& b, int v) {
  put_le16(b, v & 0xffff);
  b.push_back(static_cast<uint8_t>(v >> 16));
}
void put_le32(Bytes& b, uint32_t v) {
  put_le16(b, static_cast<int>(v & 0xffff));
  put_le16(b, static_cast<int>(v >> 16));
}

void write_bytes(const std::string& path, const Bytes& b) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), b.size());
}

// The DataError decode_image_file(path) throws; fails the test when it throws anything else.
std::string limit_error(const std::string& path) {
  try {
    decode_image_file(path);
  } catch (const DataError& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << path << ": expected a DataError, got: " << e.what();
    return "";
  }
  ADD_FAILURE() << path << ": decoded without an error";
  return "";
}

// A one-pixel GIF89a frame of `frame_w` x `frame_h` (only pixel index 0 in its LZW data) at
// (left, top) on a logical screen of screen_w x screen_h, no palettes.
Bytes gif(int screen_w, int screen_h, int left, int top, int frame_w, int frame_h) {
  Bytes b = {'G', 'I', 'F', '8', '9', 'a'};
  put_le16(b, screen_w);
  put_le16(b, screen_h);
  b.insert(b.end(), {0, 0, 0});  // no global palette, background 0, aspect 0
  b.push_back(',');
  put_le16(b, left);
  put_le16(b, top);
  put_le16(b, frame_w);
  put_le16(b, frame_h);
  b.push_back(0);  // no local palette, not interlaced
  // LZW, minimum code size 2, 3-bit codes: clear (4), index 0, end (5) = 0b101'000'100.
  b.insert(b.end(), {2, 2, 0x44, 0x01, 0, ';'});
  return b;
}

TEST(ImageLimits, GifCanvasOfTheLargestScreenIsRejectedBeforeAllocating) {
  test::TempDir dir;
  const std::string path = dir.file("screen.gif");
  write_bytes(path, gif(65535, 65535, 0, 0, 1, 1));  // 26 bytes declaring 4.3 G pixels
  const std::string msg = limit_error(path);
  EXPECT_NE(msg.find(path + ": GIF canvas (logical screen 65535 x 65535"), std::string::npos) << msg;
  EXPECT_NE(msg.find("above the limit of 16384"), std::string::npos) << msg;
}

TEST(ImageLimits, GifFrameOffsetPastTheLimitIsRejected) {
  // A 1x1 screen, but the frame sits at (65000, 65000): Pillow grows the canvas to hold it.
  test::TempDir dir;
  const std::string path = dir.file("offset.gif");
  write_bytes(path, gif(1, 1, 65000, 65000, 1, 1));
  const std::string msg = limit_error(path);
  EXPECT_NE(msg.find(path + ": GIF canvas"), std::string::npos) << msg;
  EXPECT_NE(msg.find("first frame 1 x 1 at 65000,65000"), std::string::npos) << msg;
  EXPECT_NE(msg.find("65001 x 65001"), std::string::npos) << msg;
}

TEST(ImageLimits, WebpCanvasIsCheckedBeforeTheAnimDecoderAllocatesIt) {
  // RIFF/WEBP with only a VP8X chunk: animation flag, canvas 20000 x 20000 (fields store size - 1).
  Bytes b = {'R', 'I', 'F', 'F'};
  put_le32(b, 4 + 8 + 10);
  b.insert(b.end(), {'W', 'E', 'B', 'P', 'V', 'P', '8', 'X'});
  put_le32(b, 10);
  b.insert(b.end(), {0x02, 0, 0, 0});
  put_le24(b, 20000 - 1);
  put_le24(b, 20000 - 1);
  test::TempDir dir;
  const std::string path = dir.file("canvas.webp");
  write_bytes(path, b);
  const std::string msg = limit_error(path);
  EXPECT_NE(msg.find(path + ": WebP canvas width x height: image of 20000 x 20000"), std::string::npos) << msg;
}

// Real files Pillow writes, with giant dimensions: a 1 x 1,000,000 PNG (4 KB), and a small JPEG
// whose frame header (SOF0: marker, length, precision, height, width) is patched to claim
// 65000 x 65000, 12.7 GB of RGB that libjpeg (limit 65500) would let us allocate.
const char* kGiantFixtures = R"(
Image.new("RGB", (1, 1000000), (10, 20, 30)).save("tall.png")
photo(16, 16, seed=1).save("small.jpg", quality=90)
data = bytearray(open("small.jpg", "rb").read())
sof = data.find(b"\xff\xc0")
struct.pack_into(">HH", data, sof + 5, 65000, 65000)
open("giant.jpg", "wb").write(bytes(data))
)";

TEST(ImageLimits, TallPngAndGiantJpegHeaderAreDataErrorsNamingTheField) {
  test::TempDir dir;
  ASSERT_EQ(test::run_python(std::string(test_util::kPillowPrelude) + kGiantFixtures, dir.path()), 0);
  std::string msg = limit_error(dir.file("tall.png"));
  EXPECT_NE(msg.find(dir.file("tall.png") + ": PNG IHDR width x height: image of 1 x 1000000"), std::string::npos)
      << msg;
  msg = limit_error(dir.file("giant.jpg"));
  EXPECT_NE(msg.find(dir.file("giant.jpg") + ": JPEG frame header (SOF) width x height: image of 65000 x 65000"),
            std::string::npos)
      << msg;
  // The unpatched file still decodes: the check reads the header, not the decoder's state.
  EXPECT_EQ(decode_image_file(dir.file("small.jpg")).width, 16);
}

TEST(ImageLimits, PngLargerThanStbImageCanAddressIsADataError) {
  // 2 GiB + 64 bytes of address space, never touched past the first page: a PNG signature and
  // IHDR of a 1x1 image, then zeros. stb_image takes the length as an int.
  const size_t size = (size_t{1} << 31) + 64;
  void* map = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  ASSERT_NE(map, MAP_FAILED);
  static const uint8_t kHead[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I',
                                  'H',  'D', 'R', 0,   0,    0,    1,    0,    0, 0, 1, 8,  2};
  std::memcpy(map, kHead, sizeof kHead);
  std::string msg;
  try {
    decode_image(static_cast<const uint8_t*>(map), size, "huge.png");
    ADD_FAILURE() << "decoded without an error";
  } catch (const DataError& e) {
    msg = e.what();
  }
  munmap(map, size);
  EXPECT_NE(msg.find("huge.png: PNG file of 2147483712 bytes, stb_image reads at most 2147483647"), std::string::npos)
      << msg;
}

}  // namespace
}  // namespace repro::datasets
