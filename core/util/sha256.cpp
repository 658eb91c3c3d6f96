#include "core/util/sha256.h"

#include <openssl/evp.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "core/util/errors.h"

namespace repro {

namespace {

using MdCtx = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;

MdCtx new_sha256() {
  MdCtx ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  // Only allocation failure can make these fail: a bug-level condition, not user input.
  REPRO_CHECK(ctx && EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) == 1,
              "OpenSSL SHA-256 initialisation failed");
  return ctx;
}

void update(EVP_MD_CTX* ctx, const void* data, size_t n) {
  REPRO_CHECK(EVP_DigestUpdate(ctx, data, n) == 1, "OpenSSL SHA-256 update failed");
}

std::string finish_hex(EVP_MD_CTX* ctx) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  REPRO_CHECK(EVP_DigestFinal_ex(ctx, digest, &len) == 1 && len == 32,
              "OpenSSL SHA-256 finalisation failed");
  static const char kHex[] = "0123456789abcdef";
  std::string out(2 * len, '0');
  for (unsigned int i = 0; i < len; ++i) {
    out[2 * i] = kHex[digest[i] >> 4];
    out[2 * i + 1] = kHex[digest[i] & 15];
  }
  return out;
}

}  // namespace

std::string sha256_hex(const std::string& bytes) {
  MdCtx ctx = new_sha256();
  update(ctx.get(), bytes.data(), bytes.size());
  return finish_hex(ctx.get());
}

std::string sha256_file_hex(const std::string& path) {
  std::unique_ptr<FILE, decltype(&std::fclose)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file) throw IoError("cannot read " + path + ": " + std::strerror(errno));
  MdCtx ctx = new_sha256();
  std::vector<char> buf(1 << 20);
  for (;;) {
    size_t n = std::fread(buf.data(), 1, buf.size(), file.get());
    if (n > 0) update(ctx.get(), buf.data(), n);
    if (n < buf.size()) {
      if (std::ferror(file.get())) throw IoError("cannot read " + path + ": read error");
      break;
    }
  }
  return finish_hex(ctx.get());
}

}  // namespace repro
