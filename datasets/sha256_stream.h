#pragma once
// Incremental SHA-256 (OpenSSL EVP) for digests of data too large to hold as one string: the
// packed images' fingerprint is computed while they are written and re-checked over the mmap.
// core/util/sha256.h covers whole strings and files only.
#include <cstddef>
#include <memory>
#include <string>

struct evp_md_ctx_st;

namespace repro::datasets {

class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(Sha256Stream&&) noexcept;
  Sha256Stream& operator=(Sha256Stream&&) noexcept;
  void update(const void* data, size_t size);
  // Lower-case hex digest (64 characters), same as sha256_hex of the concatenated bytes. The
  // stream cannot be updated afterwards.
  std::string finish_hex();

 private:
  struct Free {
    void operator()(evp_md_ctx_st* ctx) const;
  };
  std::unique_ptr<evp_md_ctx_st, Free> ctx_;
};

}  // namespace repro::datasets
