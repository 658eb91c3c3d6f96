#include "base/nn/state_dict_mismatch.h"

#include <map>
#include <sstream>

namespace repro::core {

std::string shape_text(const std::vector<int64_t>& shape) {
  std::ostringstream o;
  o << "[";
  for (size_t i = 0; i < shape.size(); ++i) o << (i ? ", " : "") << shape[i];
  return o.str() + "]";
}

StateDictMismatch compare_state_shapes(const StateShapes& model, const StateShapes& checkpoint) {
  std::map<std::string, const std::vector<int64_t>*> given;
  for (const auto& [name, shape] : checkpoint) given[name] = &shape;
  std::map<std::string, bool> known;
  StateDictMismatch m;
  for (const auto& [name, shape] : model) {
    known[name] = true;
    const auto it = given.find(name);
    if (it == given.end())
      m.missing.push_back(name + " " + shape_text(shape));
    else if (*it->second != shape)
      m.mis_shaped.push_back(name + ": checkpoint " + shape_text(*it->second) + ", model " + shape_text(shape));
  }
  for (const auto& [name, shape] : checkpoint)
    if (!known.count(name)) m.unexpected.push_back(name + " " + shape_text(shape));
  return m;
}

std::string StateDictMismatch::describe(const std::string& separator) const {
  std::ostringstream msg;
  msg << "the checkpoint does not match the model (" << missing.size() << " missing, " << unexpected.size()
      << " unexpected, " << mis_shaped.size() << " mis-shaped keys); check that the model "
      << "config matches the one the checkpoint was trained with";
  const auto list = [&](const char* title, const std::vector<std::string>& items) {
    for (size_t i = 0; i < items.size() && i < kMaxListed; ++i) msg << separator << title << ": " << items[i];
    if (items.size() > kMaxListed)
      msg << separator << "... and " << items.size() - kMaxListed << " more " << title << " keys";
  };
  list("missing", missing);
  list("unexpected", unexpected);
  list("mis-shaped", mis_shaped);
  return msg.str();
}

}  // namespace repro::core
