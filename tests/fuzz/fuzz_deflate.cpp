// Fuzz target: the deflate decompressor filling one cluster (see codec_input.h).
#include <cstdlib>
#include <vector>

#include "codecs/codec.h"
#include "tests/fuzz/codec_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static qflash::Decompressor dec;
  auto in = qflash::test::split_codec_input(data, size);
  // A canary after the cluster catches a decoder writing past its end.
  std::vector<uint8_t> out(in.cluster_size + 64, 0xa5);
  auto r = dec.decompress(qflash::Codec::Deflate, in.stream, std::span(out).first(in.cluster_size));
  if (r != qflash::DecodeResult::Ok && r != qflash::DecodeResult::Corrupt &&
      r != qflash::DecodeResult::WrongSize)
    std::abort();
  for (size_t i = in.cluster_size; i < out.size(); ++i)
    if (out[i] != 0xa5) std::abort();
  return 0;
}
