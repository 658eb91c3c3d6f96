// JPEG through libjpeg-turbo, the library and settings Pillow uses (default islow DCT, fancy
// upsampling), so the pixels are Pillow's exactly; stb_image's own JPEG decoder differs by a few
// grey levels.
//
// Errors: libjpeg's default error_exit calls exit(); ours longjmps back and throws IoError.
// Warnings (e.g. "extraneous bytes before marker") are ignored, as Pillow ignores them. Running out
// of data before the EOI marker is an error, as Pillow's "image file is truncated" (Pillow also
// rejects a file whose scan data is complete but whose EOI is missing).
#include <csetjmp>
#include <cstdio>

#include <jerror.h>
#include <jpeglib.h>

#include "base/util/errors.h"
#include "base/util/limits.h"
#include "datasets/format_decoders.h"

namespace repro::datasets::detail {
namespace {

struct ErrorManager {
  jpeg_error_mgr pub;
  std::jmp_buf jump;
};

void error_exit(j_common_ptr cinfo) { std::longjmp(reinterpret_cast<ErrorManager*>(cinfo->err)->jump, 1); }

void output_message(j_common_ptr) {}  // library code never prints

// A source over the whole file that treats end of data as an error instead of inserting a fake EOI
// (what jpeg_mem_src does, which would turn a truncated file into a grey-padded image).
void init_source(j_decompress_ptr) {}
boolean fill_input_buffer(j_decompress_ptr cinfo) {
  ERREXIT(cinfo, JERR_INPUT_EOF);
  return FALSE;
}
void skip_input_data(j_decompress_ptr cinfo, long num_bytes) {
  jpeg_source_mgr* src = cinfo->src;
  if (num_bytes <= 0) return;
  if (static_cast<size_t>(num_bytes) > src->bytes_in_buffer) ERREXIT(cinfo, JERR_INPUT_EOF);
  src->next_input_byte += num_bytes;
  src->bytes_in_buffer -= static_cast<size_t>(num_bytes);
}
void term_source(j_decompress_ptr) {}

// Pillow's cmyk2rgb (Convert.c) after its "CMYK;I" unpacker has inverted the Adobe-style data.
uint8_t cmyk_channel(int raw_c, int raw_k) {
  const int c = 255 - raw_c, nk = raw_k;  // Pillow C = 255 - raw, nk = 255 - K = raw K
  const int tmp = c * nk + 128;
  const int v = nk - (((tmp >> 8) + tmp) >> 8);  // MULDIV255
  return static_cast<uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v);
}

}  // namespace

RgbImage decode_jpeg(const uint8_t* data, size_t size, const std::string& name) {
  jpeg_decompress_struct cinfo;
  ErrorManager err;
  cinfo.err = jpeg_std_error(&err.pub);
  err.pub.error_exit = error_exit;
  err.pub.output_message = output_message;
  jpeg_source_mgr src{};
  RgbImage out;  // declared before setjmp so the longjmp target sees a valid object
  std::vector<uint8_t> cmyk_row;
  if (setjmp(err.jump)) {
    char message[JMSG_LENGTH_MAX];
    err.pub.format_message(reinterpret_cast<j_common_ptr>(&cinfo), message);
    jpeg_destroy_decompress(&cinfo);
    throw IoError(name + ": corrupt or truncated JPEG (" + message + ")");
  }
  jpeg_create_decompress(&cinfo);
  src.next_input_byte = data;
  src.bytes_in_buffer = size;
  src.init_source = init_source;
  src.fill_input_buffer = fill_input_buffer;
  src.skip_input_data = skip_input_data;
  src.resync_to_restart = jpeg_resync_to_restart;
  src.term_source = term_source;
  cinfo.src = &src;
  jpeg_read_header(&cinfo, TRUE);
  // The frame header's size decides every buffer jpeg_start_decompress and we allocate (a
  // progressive file's coefficients, the output): check it first. Not in a libjpeg call, so a
  // plain throw, after releasing what the header read allocated.
  try {
    check_image_size(cinfo.image_width, cinfo.image_height, name + ": JPEG frame header (SOF) width x height");
  } catch (...) {
    jpeg_destroy_decompress(&cinfo);
    throw;
  }
  // Pillow opens 1 component as "L", 3 as "RGB" (libjpeg converts YCbCr), 4 as "CMYK" (libjpeg
  // converts YCCK). Asking libjpeg for RGB from greyscale replicates, as convert("RGB") does.
  const bool cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
  cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
  jpeg_start_decompress(&cinfo);
  out = RgbImage(static_cast<int>(cinfo.output_width), static_cast<int>(cinfo.output_height));
  if (cmyk) cmyk_row.resize(static_cast<size_t>(out.width) * 4);
  while (cinfo.output_scanline < cinfo.output_height) {
    uint8_t* dst = out.row(static_cast<int>(cinfo.output_scanline));
    JSAMPROW row = cmyk ? cmyk_row.data() : dst;
    jpeg_read_scanlines(&cinfo, &row, 1);
    if (cmyk) {
      for (int x = 0; x < out.width; ++x) {
        const uint8_t* p = &cmyk_row[4 * x];
        for (int c = 0; c < 3; ++c) dst[3 * x + c] = cmyk_channel(p[c], p[3]);
      }
    }
  }
  jpeg_finish_decompress(&cinfo);  // reads up to EOI: a file cut after the scan data is truncated
  jpeg_destroy_decompress(&cinfo);
  return out;
}

}  // namespace repro::datasets::detail
