#pragma once
// SHA-256 digests (OpenSSL EVP) for checkpoint and data fingerprints. Torch-free.
#include <string>

namespace repro {

// Lower-case hex digest (64 characters) of `bytes`.
std::string sha256_hex(const std::string& bytes);

// Lower-case hex digest of the file's contents, read in chunks (constant memory).
// Throws IoError "cannot read <path>: <reason>".
std::string sha256_file_hex(const std::string& path);

}  // namespace repro
