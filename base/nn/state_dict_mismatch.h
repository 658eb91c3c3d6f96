#pragma once
// What keeps a state dict from loading into a model, from names and shapes alone (torch-free):
// one format for the message whether the model is built (core/util/checkpoint.h's
// load_module_state) or only described (the pre-flight of a released checkpoint,
// runner/plan/preflight.h, against base/nn/unet_state_shapes.h).
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace repro::core {

// (state-dict key, shape) pairs.
using StateShapes = std::vector<std::pair<std::string, std::vector<int64_t>>>;

struct StateDictMismatch {
  std::vector<std::string> missing;     // "name [shape]": the model's key the checkpoint lacks, in model order
  std::vector<std::string> unexpected;  // "name [shape]": the checkpoint's key the model lacks, in file order
  std::vector<std::string> mis_shaped;  // "name: checkpoint [..], model [..]", in model order

  bool empty() const { return missing.empty() && unexpected.empty() && mis_shaped.empty(); }
  // "the checkpoint does not match the model (M missing, U unexpected, S mis-shaped keys); check
  // that ...", then up to kMaxListed keys of each kind, each after `separator` ("missing: name
  // [shape]"), and "... and K more missing keys" beyond.
  std::string describe(const std::string& separator) const;

  static constexpr size_t kMaxListed = 20;  // per kind: a wrong model config mismatches hundreds
};

// The keys and shapes of `checkpoint` against the `model`'s (a key given twice: its last shape).
StateDictMismatch compare_state_shapes(const StateShapes& model, const StateShapes& checkpoint);

// "[2, 3]"; "[]" for a 0-d tensor.
std::string shape_text(const std::vector<int64_t>& shape);

}  // namespace repro::core
