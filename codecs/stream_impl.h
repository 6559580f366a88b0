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

}  // namespace qflash::detail
