#pragma once
// The resource policy for untrusted input (docs/limits.md): every size, count or nesting depth a
// file declares is checked here before anything is allocated or recursed into. Torch-free.
//
// Each limit has a default for files that legitimately occur in this project and an environment
// variable to raise it for legitimate giants; every breach is a DataError naming the file, the
// field, the value and the limit (and the variable that raises it).
#include <cstdint>
#include <initializer_list>
#include <string>

namespace repro {

struct ResourceLimits {
  // Largest single buffer a reader allocates from sizes a file declares (REPRO_MAX_ALLOC_BYTES).
  // 16 GiB: a 50k x 256x256 reference batch is 9.8 GB; nothing the paper needs is larger.
  uint64_t max_alloc_bytes = uint64_t{16} << 30;
  // Largest image side a decoder accepts before decoding (REPRO_MAX_IMAGE_SIDE). FFHQ's originals
  // are 1024, LSUN's and CelebA's smaller.
  int64_t max_image_side = 16384;
  // Largest image area (REPRO_MAX_IMAGE_PIXELS): Pillow's MAX_IMAGE_PIXELS, past which Pillow
  // warns of a decompression bomb (89,478,485 = 1024*1024*1024/4/3).
  int64_t max_image_pixels = 89478485;
  // Deepest nesting of pickle containers, .npy header literals and YAML nodes
  // (REPRO_MAX_NESTING). A state dict nests 4 deep, an experiment file about 8.
  int max_nesting = 100;
  // Most YAML nodes an experiment file may expand to after aliases and merges
  // (REPRO_MAX_YAML_NODES): table3 expands to about 3,000; a "billion laughs" file to 10^9.
  uint64_t max_yaml_nodes = 1000000;
  // deflate cannot expand more than 1032:1 (a 258-byte match per 2 bits); a zip entry claiming
  // more than that ratio over its compressed size is lying.
  static constexpr uint64_t kMaxDeflateRatio = 1032;
};

// The limits in force: the defaults above, each overridden by its environment variable when set
// (read once, at the first call). A malformed variable is a ConfigError.
const ResourceLimits& resource_limits();

// a * b, or DataError "<what>: <a> x <b> overflows 64 bits".
uint64_t checked_mul(uint64_t a, uint64_t b, const std::string& what);
// a + b, or DataError "<what>: <a> + <b> overflows 64 bits".
uint64_t checked_add(uint64_t a, uint64_t b, const std::string& what);
// The product of `factors`, or DataError naming `what` and the factors when it overflows.
uint64_t checked_product(std::initializer_list<uint64_t> factors, const std::string& what);

// Throws DataError "<what>: needs <bytes> bytes, more than the limit of <limit>
// (REPRO_MAX_ALLOC_BYTES raises it)" when bytes > max_alloc_bytes. Returns bytes.
uint64_t check_alloc(uint64_t bytes, const std::string& what);

// Throws DataError "<what>: image of <w> x <h> exceeds ..." when a side is < 1 or above
// max_image_side, or the area above max_image_pixels. `what` names the file.
void check_image_size(int64_t width, int64_t height, const std::string& what);

// Counts nesting while a recursive reader descends; throws DataError "<what>: nesting deeper than
// <max> levels (REPRO_MAX_NESTING raises it)" when it goes past resource_limits().max_nesting.
// Usage: `NestingGuard guard(depth_, where);` at the top of each recursive call.
class NestingGuard {
 public:
  NestingGuard(int& depth, const std::string& what);
  ~NestingGuard() { --depth_; }
  NestingGuard(const NestingGuard&) = delete;
  NestingGuard& operator=(const NestingGuard&) = delete;

 private:
  int& depth_;
};

}  // namespace repro
