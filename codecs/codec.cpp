// Decompressor: dispatch to the library context of each codec.
#include "codecs/codec.h"

#include "codecs/codec_impl.h"

namespace qflash {

struct Decompressor::Contexts {
  detail::DeflateContext deflate;
  detail::ZstdContext zstd;
};

Decompressor::Decompressor() : ctx_(std::make_unique<Contexts>()) {}
Decompressor::~Decompressor() = default;

DecodeResult Decompressor::decompress(Codec codec, std::span<const uint8_t> in,
                                      std::span<uint8_t> out) {
  switch (codec) {
    case Codec::Deflate: return ctx_->deflate.decompress(in, out);
    case Codec::Zstd: return ctx_->zstd.decompress(in, out);
  }
  return DecodeResult::Corrupt;
}

const char* codec_name(Codec codec) { return codec == Codec::Zstd ? "zstd" : "deflate"; }

const char* decode_result_text(DecodeResult result) {
  switch (result) {
    case DecodeResult::Ok: return "ok";
    case DecodeResult::Corrupt: return "corrupt compressed data";
    case DecodeResult::WrongSize: return "compressed data does not decode to one cluster";
  }
  return "?";
}

}  // namespace qflash
