// Raw deflate (RFC 1951, no zlib header) with libdeflate.
#include <libdeflate.h>

#include "codecs/codec_impl.h"

namespace qflash::detail {

DeflateContext::DeflateContext() : d_(libdeflate_alloc_decompressor()) {}
DeflateContext::~DeflateContext() { libdeflate_free_decompressor(d_); }

DecodeResult DeflateContext::decompress(std::span<const uint8_t> in, std::span<uint8_t> out) {
  if (!d_) return DecodeResult::Corrupt;
  size_t in_used = 0, out_made = 0;
  // Passing in_used lets the stream end before the input does.
  switch (libdeflate_deflate_decompress_ex(d_, in.data(), in.size(), out.data(), out.size(),
                                          &in_used, &out_made)) {
    case LIBDEFLATE_SUCCESS:
      return out_made == out.size() ? DecodeResult::Ok : DecodeResult::WrongSize;
    case LIBDEFLATE_INSUFFICIENT_SPACE:
      return DecodeResult::WrongSize;
    default:
      return DecodeResult::Corrupt;
  }
}

}  // namespace qflash::detail
