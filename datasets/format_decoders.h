#pragma once
// Per-format decoders behind decode_image (internal to repro_datasets). Each returns the RGB
// pixels Pillow's Image.open(...).convert("RGB") gives, or throws IoError "<name>: <reason>";
// each reads the image size from the header first and applies check_image_size (DataError)
// before the decoder allocates.
#include <cstddef>
#include <cstdint>
#include <string>

#include "datasets/rgb_image.h"

namespace repro::datasets::detail {

RgbImage decode_png(const uint8_t* data, size_t size, const std::string& name);   // stb_image
RgbImage decode_jpeg(const uint8_t* data, size_t size, const std::string& name);  // libjpeg-turbo
RgbImage decode_gif(const uint8_t* data, size_t size, const std::string& name);   // giflib
RgbImage decode_webp(const uint8_t* data, size_t size, const std::string& name);  // libwebpdemux

}  // namespace repro::datasets::detail
