// Fuzz target: the streaming decoders of compressed raw images (gzip, xz,
// zstd, bzip2, zip), which read what nobody vetted from a pipe or a URL.
// The first byte picks the format (low 3 bits) and how the input arrives
// (the rest: in pieces of 1 to 31 bytes, as from a slow pipe, or whole);
// the output goes through a 64 KiB buffer with a canary after it, at most
// 16 MiB of it so that a bomb does not stall the fuzzer. The formats whose
// size is read from their metadata (xz's index, zstd's frame headers, zip's
// central directory) are then opened as a stream source and read, as a
// file or URL would be.
#include <algorithm>
#include <cstdlib>
#include <vector>

#include "codecs/stream.h"
#include "io/stream/stream_source.h"
#include "tests/support/memory_source.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace qflash;
  if (size < 1) return 0;
  constexpr StreamFormat kFormats[] = {StreamFormat::Gzip, StreamFormat::Xz, StreamFormat::Zstd,
                                       StreamFormat::Bzip2, StreamFormat::Zip};
  const StreamFormat format = kFormats[(data[0] & 7) % std::size(kFormats)];
  const std::span<const uint8_t> stream(data + 1, size - 1);
  const size_t piece = data[0] >> 3 ? size_t(data[0] >> 3) : stream.size() + 1;
  auto dec = make_stream_decoder(format, 1, 64 << 20);
  constexpr size_t kOut = 64 << 10;
  std::vector<uint8_t> out(kOut + 64, 0xa5);
  uint64_t made = 0;
  size_t at = 0, end = std::min(piece, stream.size());
  for (int idle = 0; made < (16u << 20) && idle < 3;) {
    std::span<const uint8_t> in = stream.subspan(at, end - at);
    std::span<uint8_t> room(out.data(), kOut);
    const bool last = end == stream.size();
    const StreamStatus st = dec->decode(in, room, last);
    // What is left of each span is a tail of what was given.
    if (in.data() + in.size() != stream.data() + end || in.size() > end - at) std::abort();
    if (room.data() + room.size() != out.data() + kOut) std::abort();
    for (size_t i = kOut; i < out.size(); ++i)
      if (out[i] != 0xa5) std::abort();
    const size_t used = end - at - in.size(), produced = kOut - room.size();
    at += used;
    made += produced;
    if (st != StreamStatus::Ok) break;
    if (used == 0 && produced == 0) {
      if (last) ++idle;
      else end = std::min(stream.size(), end + piece);  // it wants more at once
    } else if (at == end && !last) {
      end = std::min(stream.size(), end + piece);
    }
  }
  if (format == StreamFormat::Xz || format == StreamFormat::Zstd || format == StreamFormat::Zip) {
    StreamOptions options;
    options.threads = 1;
    options.decoder_memory = 64 << 20;
    options.window = 4 << 20;
    auto src = open_stream_source(std::make_shared<test::MemorySource>(stream), format, options);
    if (!src) return 0;
    const Source& s = **src;
    std::vector<uint8_t> buf(kOut);
    for (uint64_t at = 0; at < std::min<uint64_t>(s.size(), 16u << 20); at += kOut) {
      auto n = s.read_at(buf, at);
      if (!n || *n == 0) return 0;
    }
    (void)s.settle();
  }
  return 0;
}
