#include "base/nn/unet_param_count.h"

#include "base/nn/unet_state_shapes.h"

namespace repro::core {

int64_t unet_parameter_count(const UNetConfig& c) {
  int64_t n = 0;
  for (const auto& [name, shape] : unet_state_shapes(c)) {
    int64_t numel = 1;
    for (int64_t d : shape) numel *= d;
    n += numel;
  }
  return n;
}

}  // namespace repro::core
