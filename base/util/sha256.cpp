#include "base/util/sha256.h"

#include <openssl/evp.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "base/util/errors.h"

namespace repro {

void Sha256Stream::Free::operator()(evp_md_ctx_st* ctx) const { EVP_MD_CTX_free(ctx); }

namespace {

// The SHA-256 implementation, looked up once: EVP_sha256() makes every EVP_DigestInit_ex look it
// up in OpenSSL 3's provider tables again, which costs more than hashing a short text (run and
// task ids hash a few hundred bytes each, about ten per run).
const EVP_MD* sha256_md() {
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
  static const EVP_MD* md = [] {
    const EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    return fetched ? fetched : EVP_sha256();
  }();
  return md;
#else
  return EVP_sha256();
#endif
}

std::string lower_hex(const unsigned char* digest, unsigned int len) {
  static const char kHex[] = "0123456789abcdef";
  std::string out(size_t{2} * len, '0');
  for (size_t i = 0; i < len; ++i) {
    out[2 * i] = kHex[digest[i] >> 4];
    out[2 * i + 1] = kHex[digest[i] & 15];
  }
  return out;
}

}  // namespace

Sha256Stream::Sha256Stream() : ctx_(EVP_MD_CTX_new()) {
  // Only allocation failure can make these fail: a bug-level condition, not user input.
  REPRO_CHECK(ctx_ && EVP_DigestInit_ex(ctx_.get(), sha256_md(), nullptr) == 1,
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
  return lower_hex(digest, len);
}

std::string sha256_hex(const std::string& bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  REPRO_CHECK(EVP_Digest(bytes.data(), bytes.size(), digest, &len, sha256_md(), nullptr) == 1 && len == 32,
              "OpenSSL SHA-256 failed");
  return lower_hex(digest, len);
}

std::string sha256_file_hex(const std::string& path) {
  std::unique_ptr<FILE, decltype(&std::fclose)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file) throw IoError("cannot read " + path + ": " + std::strerror(errno));
  Sha256Stream s;
  std::vector<char> buf(1 << 20);
  for (;;) {
    size_t n = std::fread(buf.data(), 1, buf.size(), file.get());
    if (n > 0) s.update(buf.data(), n);
    if (n < buf.size()) {
      if (std::ferror(file.get())) throw IoError("cannot read " + path + ": read error");
      break;
    }
  }
  return s.finish_hex();
}

bool is_sha256_hex(const std::string& s) {
  return s.size() == 64 && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

}  // namespace repro
