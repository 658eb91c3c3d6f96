#pragma once
// The ADM UNet's parameter count from its config alone, torch-free: what `model->parameters()` of
// core/nn/unet.h holds: the sum over base/nn/unet_state_shapes.h (tests/core/unet_param_count_test.cpp
// checks it against the LibTorch model). The dry run sizes checkpoints with it
// (runner/plan/cost_estimate.h) without building a network.
#include <cstdint>

#include "base/nn/unet_config.h"

namespace repro::core {

// Trainable scalars of UNetModel(config): weights and biases of every conv, linear, embedding and
// GroupNorm. Throws ConfigError as config.validate() does for a config the network refuses.
int64_t unet_parameter_count(const UNetConfig& config);

}  // namespace repro::core
