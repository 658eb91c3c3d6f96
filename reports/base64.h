#pragma once
// Base64 (RFC 4648, with padding) for images embedded in the HTML report as data: URLs.
#include <string>

namespace repro::reports {

std::string base64_encode(const std::string& bytes);

}  // namespace repro::reports
