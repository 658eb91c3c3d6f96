#pragma once
// Deep merge of YAML config trees, as the experiment matrix composes a run's config: mappings
// merge key by key, anything else (scalars, lists) is replaced by the later value.
#include <yaml-cpp/yaml.h>

namespace repro::runner {

// A new tree: `over` merged onto `base`. Every mapping of the result is a fresh node, so editing
// the result (an --set) never touches the inputs; scalars and lists are shared with them and keep
// their source marks (file lines for error messages).
YAML::Node merged(const YAML::Node& base, const YAML::Node& over);

}  // namespace repro::runner
