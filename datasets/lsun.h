#pragma once
// LSUN (tower for the paper) from the official LMDB (`tower_train_lmdb/`, values WebP files keyed
// by image id), prepared as guided-diffusion's datasets/lsun_bedroom.py does:
//   for _, webp_data in cursor:                        # LMDB key order
//       img = Image.open(io.BytesIO(webp_data))
//       scale = image_size / min(width, height)
//       img = img.resize((int(round(scale * width)), int(round(scale * height))), resample=Image.BOX)
//       arr = np.array(img); h_off = (h - image_size) // 2; w_off = (w - image_size) // 2
//       arr = arr[h_off : h_off + image_size, w_off : w_off + image_size]
// One BOX step (not center_crop_arr's halvings + BICUBIC), round() is Python's half-to-even.
// The script keeps the array as decoded (no convert("RGB")); LSUN's WebPs are RGB, and an alpha
// channel would be dropped here.
#include <cstdint>
#include <string>

#include "datasets/image_sink.h"
#include "datasets/rgb_image.h"

namespace repro::datasets {

inline constexpr int kLsunImageSize = 64;
inline constexpr int64_t kLsunTowerPublishedCount = 708264;

// The resize + center crop above. Throws DataError when image_size < 1 or the image is empty.
RgbImage lsun_preprocess(const RgbImage& image, int image_size);

// Streams every record of the LMDB environment at `lmdb_path` (a directory with data.mdb, opened
// read-only without a lock file, so a read-only copy works; only data.mdb's size is mapped, so it
// works under `ulimit -v`), in key order, decoded as WebP and preprocessed to image_size, with
// kNoLabel; returns the count. Throws IoError naming the path when the environment cannot be
// opened, data.mdb is shorter than its meta page claims, or a read fails, and naming the record
// (index and key) when a value runs past the file, is not WebP or is a corrupt WebP; DataError
// when the database is empty or a record's canvas breaks the image limits (base/util/limits.h).
int64_t read_lsun_lmdb(const std::string& lmdb_path, int image_size, const ImageSink& sink);

}  // namespace repro::datasets
