// Private to codecs/: one context type per library.
#pragma once

#include "codecs/codec.h"

struct libdeflate_decompressor;
struct ZSTD_DCtx_s;

namespace qflash::detail {

class DeflateContext {
 public:
  DeflateContext();
  ~DeflateContext();
  DeflateContext(const DeflateContext&) = delete;
  DeflateContext& operator=(const DeflateContext&) = delete;
  DecodeResult decompress(std::span<const uint8_t> in, std::span<uint8_t> out);

 private:
  libdeflate_decompressor* d_;
};

class ZstdContext {
 public:
  ZstdContext();
  ~ZstdContext();
  ZstdContext(const ZstdContext&) = delete;
  ZstdContext& operator=(const ZstdContext&) = delete;
  DecodeResult decompress(std::span<const uint8_t> in, std::span<uint8_t> out);

 private:
  ZSTD_DCtx_s* d_;
};

}  // namespace qflash::detail
