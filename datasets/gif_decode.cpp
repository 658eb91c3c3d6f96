// GIF (first frame) through giflib, laid out as Pillow 9.4's GifImagePlugin does for frame 0.
// Not stb_image: stb leaves transparent pixels black and fills pixels outside the frame with the
// background colour, while Pillow's convert("RGB") shows the palette colour of every index:
//   - the canvas is the logical screen, grown to hold the frame if the frame sticks out;
//   - pixels outside the frame hold the transparency index if the frame has one, else index 0;
//   - an index is looked up in the local palette, else the global one; an index past the end of
//     the palette, or any index when there is no palette, is grey (i, i, i), as Pillow's palette
//     starts as a grey ramp (and an identity palette makes Pillow use mode "L").
// Known difference: giflib wants the block terminator after the last pixel; Pillow stops reading
// once every pixel is decoded, so a file cut exactly there loads in Pillow and fails here.
#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include <gif_lib.h>

#include "base/util/errors.h"
#include "base/util/limits.h"
#include "datasets/format_decoders.h"

namespace repro::datasets::detail {
namespace {

struct Reader {
  const uint8_t* data;
  size_t size;
  size_t pos;
};

int read_bytes(GifFileType* gif, GifByteType* buf, int n) {
  auto* r = static_cast<Reader*>(gif->UserData);
  const size_t k = std::min(static_cast<size_t>(n), r->size - r->pos);
  std::memcpy(buf, r->data + r->pos, k);
  r->pos += k;
  return static_cast<int>(k);
}

struct GifClose {
  void operator()(GifFileType* g) const { DGifCloseFile(g, nullptr); }
};

[[noreturn]] void fail(const std::string& name, int error) {
  const char* what = GifErrorString(error);
  throw IoError(name + ": corrupt or truncated GIF (" + (what ? what : "unknown giflib error") + ")");
}

// The canvas holds the logical screen and the first frame, so its sides bound every size the file
// declares (screen, frame size and offset, all 16-bit); it is checked before the index buffer and
// the output are allocated. Record-by-record reading means giflib itself allocates only a line.
void check_canvas(const GifFileType& gif, int width, int height, const std::string& name) {
  const GifImageDesc& f = gif.Image;
  check_image_size(width, height,
                   name + ": GIF canvas (logical screen " + std::to_string(gif.SWidth) + " x " +
                       std::to_string(gif.SHeight) + ", first frame " + std::to_string(f.Width) + " x " +
                       std::to_string(f.Height) + " at " + std::to_string(f.Left) + "," + std::to_string(f.Top) + ")");
}

}  // namespace

RgbImage decode_gif(const uint8_t* data, size_t size, const std::string& name) {
  Reader reader{data, size, 0};
  int error = 0;
  std::unique_ptr<GifFileType, GifClose> gif(DGifOpen(&reader, read_bytes, &error));
  if (!gif) fail(name, error);
  int transparency = -1;  // from the last Graphic Control Extension before the frame
  for (;;) {
    GifRecordType type;
    if (DGifGetRecordType(gif.get(), &type) == GIF_ERROR) fail(name, gif->Error);
    if (type == TERMINATE_RECORD_TYPE) throw IoError(name + ": GIF has no image");
    if (type == EXTENSION_RECORD_TYPE) {
      int code = 0;
      GifByteType* block = nullptr;
      if (DGifGetExtension(gif.get(), &code, &block) == GIF_ERROR) fail(name, gif->Error);
      // block[0] is the sub-block length; flags bit 0 says block[4] is the transparency index.
      if (code == GRAPHICS_EXT_FUNC_CODE && block && block[0] >= 4 && (block[1] & 1)) transparency = block[4];
      while (block) {
        if (DGifGetExtensionNext(gif.get(), &block) == GIF_ERROR) fail(name, gif->Error);
      }
      continue;
    }
    if (type != IMAGE_DESC_RECORD_TYPE) continue;
    if (DGifGetImageDesc(gif.get()) == GIF_ERROR) fail(name, gif->Error);
    const GifImageDesc& frame = gif->Image;
    const int width = std::max<int>(gif->SWidth, frame.Left + frame.Width);
    const int height = std::max<int>(gif->SHeight, frame.Top + frame.Height);
    if (width <= 0 || height <= 0) throw IoError(name + ": GIF has an empty image");
    check_canvas(*gif, width, height, name);
    std::vector<uint8_t> index(static_cast<size_t>(width) * height,
                               static_cast<uint8_t>(transparency >= 0 ? transparency : 0));
    std::vector<GifPixelType> line(frame.Width);
    // Interlaced frames store rows in four passes: every 8th from 0, every 8th from 4, every 4th
    // from 2, every 2nd from 1.
    static const int kStart[4] = {0, 4, 2, 1}, kStep[4] = {8, 8, 4, 2};
    const int passes = frame.Interlace ? 4 : 1;
    for (int p = 0; p < passes; ++p) {
      for (int y = frame.Interlace ? kStart[p] : 0; y < frame.Height; y += frame.Interlace ? kStep[p] : 1) {
        if (frame.Width <= 0) continue;  // an empty row: nothing to read or copy
        if (DGifGetLine(gif.get(), line.data(), frame.Width) == GIF_ERROR) fail(name, gif->Error);
        std::memcpy(&index[static_cast<size_t>(frame.Top + y) * width + frame.Left], line.data(), line.size());
      }
    }
    const ColorMapObject* palette = frame.ColorMap ? frame.ColorMap : gif->SColorMap;
    RgbImage out(width, height);
    for (size_t i = 0; i < index.size(); ++i) {
      const int v = index[i];
      uint8_t* px = &out.pixels[3 * i];
      if (palette && v < palette->ColorCount) {
        px[0] = palette->Colors[v].Red, px[1] = palette->Colors[v].Green, px[2] = palette->Colors[v].Blue;
      } else {
        px[0] = px[1] = px[2] = static_cast<uint8_t>(v);
      }
    }
    return out;
  }
}

}  // namespace repro::datasets::detail
