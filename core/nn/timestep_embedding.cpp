#include "core/nn/timestep_embedding.h"

#include <cmath>

namespace repro::core {

torch::Tensor timestep_embedding(const torch::Tensor& timesteps, int64_t dim, double max_period) {
  TORCH_CHECK(timesteps.dim() == 1, "timestep_embedding: expected timesteps [N], got ", timesteps.sizes());
  const int64_t half = dim / 2;
  // Same op order as the reference so float32 rounding matches: (-log(P) * arange) / half, computed
  // on the CPU and then moved, as the reference does (CUDA's expf may differ by an ulp).
  auto freqs =
      torch::exp(-std::log(max_period) * torch::arange(0, half, torch::kFloat32) / half).to(timesteps.device());
  auto args = timesteps.to(torch::kFloat32).unsqueeze(1) * freqs.unsqueeze(0);
  auto embedding = torch::cat({torch::cos(args), torch::sin(args)}, -1);
  if (dim % 2) embedding = torch::cat({embedding, torch::zeros_like(embedding.slice(1, 0, 1))}, -1);
  return embedding;
}

}  // namespace repro::core
