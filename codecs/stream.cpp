// Format detection by magic, and the factory.
#include "codecs/stream.h"

#include <cstring>

#include "codecs/stream_impl.h"

namespace qflash {

const char* stream_format_name(StreamFormat format) {
  switch (format) {
    case StreamFormat::Gzip: return "gzip";
    case StreamFormat::Xz: return "xz";
    case StreamFormat::Zstd: return "zstd";
    case StreamFormat::Bzip2: return "bzip2";
    case StreamFormat::Zip: return "zip";
  }
  return "?";
}

std::optional<StreamFormat> detect_stream_format(std::span<const uint8_t> head) {
  auto starts = [&](const char* magic, size_t n) {
    return head.size() >= n && std::memcmp(head.data(), magic, n) == 0;
  };
  // gzip: ID1 ID2 and CM 8 (deflate), the only method ever defined.
  if (starts("\x1f\x8b\x08", 3)) return StreamFormat::Gzip;
  if (starts("\xfd" "7zXZ\0", 6)) return StreamFormat::Xz;
  if (starts("\x28\xb5\x2f\xfd", 4)) return StreamFormat::Zstd;
  // bzip2: "BZh" and a block size digit 1-9.
  if (starts("BZh", 3) && head.size() >= 4 && head[3] >= '1' && head[3] <= '9')
    return StreamFormat::Bzip2;
  // zip: a local file header first (an archive that begins otherwise, e.g.
  // a self-extracting one, is not taken for one).
  if (starts("PK\x03\x04", 4)) return StreamFormat::Zip;
  return std::nullopt;
}

std::unique_ptr<StreamDecoder> make_stream_decoder(StreamFormat format, unsigned threads,
                                                   uint64_t memory_limit) {
  switch (format) {
    case StreamFormat::Gzip: return detail::make_gzip_decoder();
    case StreamFormat::Xz: return detail::make_xz_decoder(threads, memory_limit);
    case StreamFormat::Zstd: return detail::make_zstd_stream_decoder(memory_limit);
    case StreamFormat::Bzip2: return detail::make_bzip2_decoder(threads, memory_limit);
    case StreamFormat::Zip: return detail::make_zip_decoder();
  }
  return nullptr;
}

}  // namespace qflash
