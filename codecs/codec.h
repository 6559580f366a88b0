// Decompressors for the codecs disk images use: raw deflate (libdeflate) and
// zstd frames (libzstd). One Decompressor per thread; it keeps its contexts.
//
// decompress() fills `out` exactly. The input may carry bytes after the end
// of the compressed stream (images round compressed data up to sectors).
#pragma once

#include <cstdint>
#include <memory>
#include <span>

namespace qflash {

enum class Codec : uint8_t { Deflate = 0, Zstd = 1 };

enum class DecodeResult {
  Ok,
  Corrupt,    // not a valid stream
  WrongSize,  // valid, but does not decode to exactly out.size() bytes
};

const char* codec_name(Codec codec);
const char* decode_result_text(DecodeResult result);

class Decompressor {
 public:
  Decompressor();
  ~Decompressor();
  Decompressor(const Decompressor&) = delete;
  Decompressor& operator=(const Decompressor&) = delete;

  DecodeResult decompress(Codec codec, std::span<const uint8_t> in, std::span<uint8_t> out);

 private:
  struct Contexts;
  std::unique_ptr<Contexts> ctx_;
};

}  // namespace qflash
