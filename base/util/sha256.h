#pragma once
// SHA-256 digests (OpenSSL EVP) for checkpoint and data fingerprints. Torch-free.
#include <cstddef>
#include <memory>
#include <string>

struct evp_md_ctx_st;

namespace repro {

// Incremental SHA-256 for data too large to hold as one string (the packed images' fingerprint is
// computed while they are written and re-checked over the mmap).
class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(Sha256Stream&&) noexcept;
  Sha256Stream& operator=(Sha256Stream&&) noexcept;
  void update(const void* data, size_t size);
  // Lower-case hex digest (64 characters), the same as sha256_hex of the concatenated bytes. The
  // stream cannot be updated afterwards.
  std::string finish_hex();

 private:
  struct Free {
    void operator()(evp_md_ctx_st* ctx) const;
  };
  std::unique_ptr<evp_md_ctx_st, Free> ctx_;
};

// Lower-case hex digest (64 characters) of `bytes`.
std::string sha256_hex(const std::string& bytes);

// Whether `s` is a digest as sha256_hex writes it: 64 lower-case hex digits.
bool is_sha256_hex(const std::string& s);

// Lower-case hex digest of the file's contents, read in chunks (constant memory).
// Throws IoError "cannot read <path>: <reason>".
std::string sha256_file_hex(const std::string& path);

}  // namespace repro
