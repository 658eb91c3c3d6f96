#include "base/util/limits.h"

#include <cerrno>
#include <cstdlib>
#include <limits>

#include "base/util/errors.h"
#include "base/util/strings.h"

namespace repro {

namespace {

// An environment override: a positive decimal integer, or the default when unset.
template <typename T>
void read_env(const char* name, T& value) {
  const char* text = std::getenv(name);
  if (!text || !*text) return;
  char* end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(text, &end, 10);
  if (errno != 0 || *end != '\0' || v == 0 || text[0] == '-' ||
      v > static_cast<unsigned long long>(std::numeric_limits<T>::max()))
    throw ConfigError("environment", name, std::string("expected a positive integer, got '") + text + "'");
  value = static_cast<T>(v);
}

ResourceLimits limits_from_environment() {
  ResourceLimits l;
  read_env("REPRO_MAX_ALLOC_BYTES", l.max_alloc_bytes);
  read_env("REPRO_MAX_IMAGE_SIDE", l.max_image_side);
  read_env("REPRO_MAX_IMAGE_PIXELS", l.max_image_pixels);
  read_env("REPRO_MAX_NESTING", l.max_nesting);
  read_env("REPRO_MAX_YAML_NODES", l.max_yaml_nodes);
  return l;
}

}  // namespace

const ResourceLimits& resource_limits() {
  static const ResourceLimits limits = limits_from_environment();
  return limits;
}

namespace {

// a (op) b with the overflow test `overflows` (a __builtin_*_overflow), or DataError.
template <typename Overflows>
uint64_t checked(uint64_t a, uint64_t b, const char* op, const std::string& what, Overflows overflows) {
  uint64_t out = 0;
  if (overflows(a, b, &out))
    throw DataError(what + ": " + std::to_string(a) + op + std::to_string(b) + " overflows 64 bits");
  return out;
}

}  // namespace

uint64_t checked_mul(uint64_t a, uint64_t b, const std::string& what) {
  return checked(a, b, " x ", what,
                 [](uint64_t x, uint64_t y, uint64_t* o) { return __builtin_mul_overflow(x, y, o); });
}

uint64_t checked_add(uint64_t a, uint64_t b, const std::string& what) {
  return checked(a, b, " + ", what,
                 [](uint64_t x, uint64_t y, uint64_t* o) { return __builtin_add_overflow(x, y, o); });
}

uint64_t checked_product(std::initializer_list<uint64_t> factors, const std::string& what) {
  uint64_t out = 1;
  for (uint64_t f : factors)
    if (__builtin_mul_overflow(out, f, &out)) {
      const std::string list = join(factors, " x ", [](uint64_t g) { return std::to_string(g); });
      throw DataError(what + ": " + list + " overflows 64 bits");
    }
  return out;
}

uint64_t check_alloc(uint64_t bytes, const std::string& what) {
  const uint64_t limit = resource_limits().max_alloc_bytes;
  if (bytes > limit)
    throw DataError(what + ": needs " + std::to_string(bytes) + " bytes, more than the limit of " +
                    std::to_string(limit) + " (REPRO_MAX_ALLOC_BYTES raises it)");
  return bytes;
}

void check_image_size(int64_t width, int64_t height, const std::string& what) {
  const ResourceLimits& l = resource_limits();
  const std::string dims = std::to_string(width) + " x " + std::to_string(height);
  if (width < 1 || height < 1) throw DataError(what + ": image of " + dims + " pixels is empty");
  if (width > l.max_image_side || height > l.max_image_side)
    throw DataError(what + ": image of " + dims + " pixels has a side above the limit of " +
                    std::to_string(l.max_image_side) + " (REPRO_MAX_IMAGE_SIDE raises it)");
  int64_t area = 0;
  if (__builtin_mul_overflow(width, height, &area) || area > l.max_image_pixels)
    throw DataError(what + ": image of " + dims + " pixels has more than the limit of " +
                    std::to_string(l.max_image_pixels) + " pixels (REPRO_MAX_IMAGE_PIXELS raises it)");
}

NestingGuard::NestingGuard(int& depth, const std::string& what) : depth_(depth) {
  if (++depth_ > resource_limits().max_nesting) {
    --depth_;
    throw DataError(what + ": nesting deeper than " + std::to_string(resource_limits().max_nesting) +
                    " levels (REPRO_MAX_NESTING raises it)");
  }
}

}  // namespace repro
