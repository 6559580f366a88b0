// How the decompressor fuzzers split an input: the first byte picks the
// cluster size the stream must fill (512 B << 0..7, up to 64 KiB), the rest
// is the compressed stream.
#pragma once

#include <cstdint>
#include <span>

namespace qflash::test {

struct CodecInput {
  size_t cluster_size;
  std::span<const uint8_t> stream;
};

inline CodecInput split_codec_input(const uint8_t* data, size_t size) {
  if (size == 0) return {512, {}};
  return {size_t{512} << (data[0] & 7), {data + 1, size - 1}};
}

}  // namespace qflash::test
