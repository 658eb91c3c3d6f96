#include "base/diffusion/exposure_record.h"

#include "base/util/errors.h"

namespace repro::core {

std::string exposure_json(const ExposureCurves&) { throw Error("exposure_json: not implemented yet"); }

ExposureCurves read_exposure_json(const std::string& path) {
  throw Error(path + ": read_exposure_json not implemented yet");
}

}  // namespace repro::core
