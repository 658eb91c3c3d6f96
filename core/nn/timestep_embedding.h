#pragma once
#include <torch/torch.h>

namespace repro::core {

// Sinusoidal timestep embedding (nn.py timestep_embedding): freqs_i = exp(-ln(max_period) i / half),
// embedding = [cos(t freqs), sin(t freqs)] -- cos first -- zero-padded when dim is odd.
// timesteps: [N] (any numeric dtype; may be fractional). Returns [N, dim] float32.
torch::Tensor timestep_embedding(const torch::Tensor& timesteps, int64_t dim, double max_period = 10000.0);

}  // namespace repro::core
