// Private to codecs/: one streaming decoder factory per library.
#pragma once

#include <memory>

#include "codecs/stream.h"

namespace qflash::detail {

std::unique_ptr<StreamDecoder> make_gzip_decoder();
std::unique_ptr<StreamDecoder> make_xz_decoder(unsigned threads, uint64_t memory_limit);
std::unique_ptr<StreamDecoder> make_zstd_stream_decoder(uint64_t memory_limit);
std::unique_ptr<StreamDecoder> make_bzip2_decoder(unsigned threads, uint64_t memory_limit);
std::unique_ptr<StreamDecoder> make_zip_decoder();

// How far one isal_inflate call moved a counter (avail_in, avail_out) down
// from `before` to `after`. On a corrupt stream igzip can hand back bytes
// it had read ahead and leave avail_in above where it started (found by
// fuzz_streams): that counts as nothing, where the subtraction would wrap.
inline uint32_t isal_moved(uint32_t before, uint32_t after) { return after <= before ? before - after : 0; }

}  // namespace qflash::detail
