#pragma once
// Epsilon Scaling (ADM-ES: Ning et al., "Elucidating the Exposure Bias in Diffusion Models",
// ICLR 2024; code forever208/ADM-ES): while sampling, x0 is predicted from the network's eps
// divided by lambda_i (_predict_xstart_from_eps), a training-free correction of exposure bias.
// The schedule is linear in the respaced index i: lambda_i = b + k i; ADM-ES's default is k = 0.
// Torch-free: the planner, the store and the reports carry it as two numbers.
#include <cstdint>
#include <string>

namespace repro::core {

struct EpsScale {
  double b = 1.0;  // lambda at i = 0 (with k = 0: at every step); 1 = no scaling
  double k = 0.0;  // change of lambda per respaced index

  double at(int64_t i) const { return b + k * static_cast<double>(i); }
  // b == 1 and k == 0: sampling is bit for bit the unscaled one.
  bool is_identity() const { return b == 1.0 && k == 0.0; }
  bool operator==(const EpsScale& o) const { return b == o.b && k == o.k; }
  bool operator!=(const EpsScale& o) const { return !(*this == o); }
};

// "B" or "B,K" (the `--eps-scale` option). Throws ConfigError naming `option` for anything else
// (empty, extra fields, not a finite number).
EpsScale parse_eps_scale(const std::string& text, const std::string& option);

// "1.017" when k == 0, else "1.017+0.0001i" (k's sign written out): how reports and logs name it.
std::string eps_scale_text(const EpsScale& s);

// Throws ConfigError(where, key) unless b and k are finite and lambda_i > 0 for every respaced
// index i in [0, num_timesteps).
void validate_eps_scale(const EpsScale& s, int num_timesteps, const std::string& where, const std::string& key);

}  // namespace repro::core
