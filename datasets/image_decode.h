#pragma once
// Decoding an image file as the reference does:
//   pil_image = Image.open(path); pil_image.load(); pil_image = pil_image.convert("RGB")
// (guided-diffusion image_datasets.py). The format is found from the content, as Image.open does,
// not from the extension. Supported: PNG, JPEG, GIF (first frame), WebP; pixels equal Pillow 9.4's
// (Debian 12) for every input the tests cover (tests/datasets/image_decode_test.cpp).
//
// convert("RGB") semantics kept: alpha is dropped, never composited; greyscale is replicated;
// palettes are looked up; CMYK JPEGs use Pillow's cmyk2rgb; 16-bit greyscale PNGs are clipped to
// 255 (Pillow's I -> RGB), other 16-bit PNGs keep the high byte.
//
// Thread-safe: no shared state (stb_image keeps its failure reason thread-local).
//
// Not mirrored: Pillow's other formats (BMP, TIFF, ...), its PNG chunk-CRC checks (stb_image does
// not check CRCs), EXIF orientation (Pillow ignores it here too).
#include <cstddef>
#include <cstdint>
#include <string>

#include "datasets/rgb_image.h"

namespace repro::datasets {

// Reads and decodes `path`. Throws IoError "<path>: <what is wrong>" when the file cannot be read,
// is not one of the supported formats, or is corrupt or truncated; DataError "<path>: <header
// field>: image of W x H ..." when the size its header declares breaks the image limits of
// base/util/limits.h, checked before any pixel buffer is allocated.
RgbImage decode_image_file(const std::string& path);

// Decodes an in-memory file; `name` only appears in error messages.
RgbImage decode_image(const uint8_t* data, size_t size, const std::string& name);

}  // namespace repro::datasets
