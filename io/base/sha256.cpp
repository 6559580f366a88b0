#include "io/base/sha256.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstdlib>
#include <utility>

namespace qflash {
namespace {

EVP_MD_CTX* fresh_context() {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  // Only allocation can fail here; a digest we cannot compute must not be
  // reported as computed, and there is no sensible way on.
  if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) != 1) std::abort();
  return ctx;
}

}  // namespace

Sha256::Sha256() : ctx_(fresh_context()) {}
Sha256::Sha256(Sha256&& o) noexcept : ctx_(std::exchange(o.ctx_, nullptr)) {}
Sha256& Sha256::operator=(Sha256&& o) noexcept {
  if (this != &o) {
    EVP_MD_CTX_free(ctx_);
    ctx_ = std::exchange(o.ctx_, nullptr);
  }
  return *this;
}
Sha256::~Sha256() { EVP_MD_CTX_free(ctx_); }

Sha256 Sha256::copy() const {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (!ctx || EVP_MD_CTX_copy_ex(ctx, ctx_) != 1) std::abort();
  return Sha256(ctx);
}

void Sha256::update(std::span<const uint8_t> bytes) {
  if (!bytes.empty()) EVP_DigestUpdate(ctx_, bytes.data(), bytes.size());
}

void Sha256::update_zeros(uint64_t count) {
  static const uint8_t zeros[64 * 1024] = {};
  while (count > 0) {
    const size_t n = size_t(std::min<uint64_t>(count, sizeof zeros));
    EVP_DigestUpdate(ctx_, zeros, n);
    count -= n;
  }
}

Sha256::Digest Sha256::finish() {
  Digest d{};
  unsigned len = 0;
  EVP_DigestFinal_ex(ctx_, d.data(), &len);
  EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr);
  return d;
}

std::string Sha256::hex(const Digest& d) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(64);
  for (uint8_t b : d) {
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 15]);
  }
  return out;
}

bool Sha256::parse(std::string_view text, Digest& out) {
  if (text.size() != 64) return false;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < 32; ++i) {
    const int hi = nibble(text[2 * i]), lo = nibble(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = uint8_t(hi << 4 | lo);
  }
  return true;
}

std::optional<Sha256::Digest> Sha256::find_in_sums(std::string_view sums, std::string_view file_name) {
  auto base = [](std::string_view p) {
    const size_t slash = p.find_last_of('/');
    return slash == std::string_view::npos ? p : p.substr(slash + 1);
  };
  const std::string_view want = base(file_name);
  while (!sums.empty()) {
    const size_t nl = sums.find('\n');
    std::string_view line = sums.substr(0, nl);
    sums = nl == std::string_view::npos ? std::string_view() : sums.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::string_view hex, name;
    if (line.starts_with("SHA256 (")) {
      const size_t close = line.rfind(") = ");
      if (close == std::string_view::npos) continue;
      name = line.substr(8, close - 8);
      hex = line.substr(close + 4);
    } else {
      if (line.size() < 66 || line[64] != ' ') continue;
      hex = line.substr(0, 64);
      name = line.substr(65);
      if (!name.empty() && (name[0] == '*' || name[0] == ' ')) name.remove_prefix(1);
    }
    Digest d;
    if (base(name) == want && parse(hex, d)) return d;
  }
  return std::nullopt;
}

}  // namespace qflash
