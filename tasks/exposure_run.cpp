#include "tasks/exposure_run.h"

#include "base/util/errors.h"

namespace repro::tasks {

core::ExposureCurves exposure_run(const config::ModelFile&, const ExposureJob&, std::ostream&) {
  throw Error("exposure_run: not implemented yet");
}

}  // namespace repro::tasks
