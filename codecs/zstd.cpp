// zstd frames with libzstd; padding after the frame is ignored.
#include <zstd.h>
#include <zstd_errors.h>

#include "codecs/codec_impl.h"

namespace qflash::detail {

ZstdContext::ZstdContext() : d_(ZSTD_createDCtx()) {}
ZstdContext::~ZstdContext() { ZSTD_freeDCtx(d_); }

DecodeResult ZstdContext::decompress(std::span<const uint8_t> in, std::span<uint8_t> out) {
  if (!d_) return DecodeResult::Corrupt;
  size_t frame = ZSTD_findFrameCompressedSize(in.data(), in.size());
  if (ZSTD_isError(frame)) return DecodeResult::Corrupt;
  size_t made = ZSTD_decompressDCtx(d_, out.data(), out.size(), in.data(), frame);
  if (ZSTD_isError(made))
    return ZSTD_getErrorCode(made) == ZSTD_error_dstSize_tooSmall ? DecodeResult::WrongSize
                                                                  : DecodeResult::Corrupt;
  return made == out.size() ? DecodeResult::Ok : DecodeResult::WrongSize;
}

}  // namespace qflash::detail
