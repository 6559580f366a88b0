// Sha256: a streaming SHA-256 over OpenSSL's libcrypto (EVP, which uses the
// CPU's SHA extensions or AVX2 where present). One owner of an EVP_MD_CTX.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

typedef struct evp_md_ctx_st EVP_MD_CTX;

namespace qflash {

class Sha256 {
 public:
  using Digest = std::array<uint8_t, 32>;

  Sha256();  // ready for update(); aborts only if libcrypto cannot allocate
  Sha256(Sha256&& o) noexcept;
  Sha256& operator=(Sha256&& o) noexcept;
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  ~Sha256();

  // An independent copy of the state (the digest so far), cheap.
  Sha256 copy() const;
  void update(std::span<const uint8_t> bytes);
  // Feeds `count` zero bytes (zero ranges that were never in a buffer).
  void update_zeros(uint64_t count);
  // The digest of everything fed; the object starts over afterwards.
  Digest finish();

  static std::string hex(const Digest& d);
  // The digest listed for `file_name` in the text of a SHA256SUMS file
  // (sha256sum's "HEX  NAME" or "HEX *NAME" lines, BSD "SHA256 (NAME) = HEX"
  // lines); a listed name matches by its last path component. Empty if absent.
  static std::optional<Digest> find_in_sums(std::string_view sums, std::string_view file_name);
  // Parses 64 hex digits (either case); false if `text` is anything else.
  static bool parse(std::string_view text, Digest& out);

 private:
  explicit Sha256(EVP_MD_CTX* ctx) : ctx_(ctx) {}
  EVP_MD_CTX* ctx_ = nullptr;
};

}  // namespace qflash
