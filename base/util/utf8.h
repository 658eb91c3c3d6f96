#pragma once
// UTF-8 validation for text read from files (YAML configs become JSON, which must be UTF-8).
// Torch-free.
#include <cstddef>
#include <string_view>

namespace repro {

// The byte offset of the first byte that does not start or continue a well-formed UTF-8 sequence
// (overlong forms, surrogates and code points past U+10FFFF included), or npos when all is valid.
size_t invalid_utf8_offset(std::string_view text);

}  // namespace repro
