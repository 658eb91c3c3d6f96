#include "datasets/sha256_stream.h"

#include <openssl/evp.h>

#include "core/util/errors.h"

namespace repro::datasets {

void Sha256Stream::Free::operator()(evp_md_ctx_st* ctx) const { EVP_MD_CTX_free(ctx); }

Sha256Stream::Sha256Stream() : ctx_(EVP_MD_CTX_new()) {
  // Only allocation failure can make these fail: a bug-level condition, not user input.
  REPRO_CHECK(ctx_ && EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) == 1,
              "OpenSSL SHA-256 initialisation failed");
}
Sha256Stream::~Sha256Stream() = default;
Sha256Stream::Sha256Stream(Sha256Stream&&) noexcept = default;
Sha256Stream& Sha256Stream::operator=(Sha256Stream&&) noexcept = default;

void Sha256Stream::update(const void* data, size_t size) {
  REPRO_CHECK(EVP_DigestUpdate(ctx_.get(), data, size) == 1, "OpenSSL SHA-256 update failed");
}

std::string Sha256Stream::finish_hex() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  REPRO_CHECK(EVP_DigestFinal_ex(ctx_.get(), digest, &len) == 1 && len == 32, "OpenSSL SHA-256 finalisation failed");
  static const char kHex[] = "0123456789abcdef";
  std::string out(2 * len, '0');
  for (unsigned int i = 0; i < len; ++i) {
    out[2 * i] = kHex[digest[i] >> 4];
    out[2 * i + 1] = kHex[digest[i] & 15];
  }
  return out;
}

}  // namespace repro::datasets
