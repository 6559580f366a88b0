// Compressed raw images and standard input as a Source: the stream is
// decoded in order and read_at is served from a bounded window of the most
// recent decoded bytes, so that readers working slightly out of order (the
// engine's workers) share one pass. A read behind the window restarts the
// decode from the start (a second pass); standard input cannot restart and
// such a read fails, naming the offset.
//
// The decoded size comes from the stream where it says it (the xz index, the
// zstd frame headers), else from `size_hint`, else (`size_at_end`) from its
// end when the run reads it (size() is kSizeBound until then), else, for a
// file or URL, from a first pass that decodes the whole stream to count its
// bytes. The stream is checked to be exactly that long while it is read.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "codecs/stream.h"
#include "io/source.h"

namespace qflash {

struct StreamOptions {
  unsigned threads = 0;                  // xz, bzip2 decoding threads; 0: one per CPU
  uint64_t decoder_memory = 512ull << 20;  // bound on what a decoder may allocate
  uint64_t window = 32ull << 20;         // decoded bytes kept for out-of-order reads
  uint64_t size_hint = 0;                // the decoded size if known elsewhere; 0: not
  std::string size_hint_from = "given";  // where, for info ("bmap", "--image-size")
  bool size_at_end = false;              // no size: find it at the end (Source::found_end)
};

// The decoded bytes of `compressed`, a stream in `format`.
Result<SourcePtr> open_stream_source(SourcePtr compressed, StreamFormat format,
                                     const StreamOptions& options = {});

// Standard input: a compressed stream (detected by its magic) or raw bytes.
// Fails when its size cannot be known up front (no zstd content size, no
// `size_hint`) and `size_at_end` is not set.
Result<SourcePtr> open_stdin_source(const StreamOptions& options = {});

// The name standard input goes by in messages.
inline constexpr const char* kStdinName = "standard input";

}  // namespace qflash
