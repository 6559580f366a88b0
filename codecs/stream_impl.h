// Private to codecs/: one streaming decoder factory per library.
#pragma once

#include <memory>

#include "codecs/stream.h"

struct inflate_state;  // ISA-L's

namespace qflash::detail {

std::unique_ptr<StreamDecoder> make_gzip_decoder();
std::unique_ptr<StreamDecoder> make_xz_decoder(unsigned threads, uint64_t memory_limit);
std::unique_ptr<StreamDecoder> make_zstd_stream_decoder(uint64_t memory_limit);
std::unique_ptr<StreamDecoder> make_bzip2_decoder(unsigned threads, uint64_t memory_limit);
std::unique_ptr<StreamDecoder> make_zip_decoder();

// One isal_inflate call on `st` from the front of `in` into the front of
// `out`, both moved past what it took and made; igzip's result (< 0: the
// stream is corrupt). gzip members and zip entries share it.
int isal_inflate_step(inflate_state& st, std::span<const uint8_t>& in, std::span<uint8_t>& out);

}  // namespace qflash::detail
