#pragma once
// The ADM UNet's state dict from its config alone, torch-free: every key and shape that
// core::module_state(UNetModel(config)) holds, in the same (registration) order, under the
// reference's names ("time_embed.0.weight", "input_blocks.1.0.in_layers.2.weight", "out.2.bias").
// tests/core/unet_param_count_test.cpp checks it against the LibTorch model. The pre-flight
// (runner/plan/preflight.h) checks a released checkpoint's keys against it without building a
// network.
#include "base/nn/state_dict_mismatch.h"
#include "base/nn/unet_config.h"

namespace repro::core {

// The parameters of UNetModel(config) (it has no buffers), whatever use_fp16 says: the dtype
// changes, the keys and shapes do not. Throws ConfigError as config.validate() does for a config
// the network refuses.
StateShapes unet_state_shapes(const UNetConfig& config);

}  // namespace repro::core
