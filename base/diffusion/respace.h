#pragma once
// Timestep respacing (respace.py space_timesteps): which steps of the base process a shorter
// sampling chain keeps. Torch-free.
#include <string>
#include <vector>

namespace repro::core {

// section_counts: "K" (K evenly strided steps), "a,b,c" (the process split into equal sections
// with a, b, c steps each), or "ddimK" (the integer stride DDIM uses: range(0, T, stride) with
// exactly K entries). Strides are accumulated in double and rounded half-to-even, as Python's
// round() does, so the sets equal the reference's. Returns the kept steps sorted ascending.
// Throws ConfigError (key "timestep_respacing") when a section asks for more steps than it has,
// or no DDIM stride gives exactly K steps.
std::vector<int> space_timesteps(int num_timesteps, const std::string& section_counts);

}  // namespace repro::core
