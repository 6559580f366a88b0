// Streaming decoders for compressed raw disk images: gzip (ISA-L), xz
// (liblzma, multi-threaded over the stream's blocks), zstd (libzstd), bzip2
// (libbz2, its blocks cut apart and decoded on several threads) and a zip
// archive of one file (deflated, by ISA-L, or stored).
// Unlike Decompressor (one cluster in, one cluster out), these take a
// stream of any length in pieces and give its bytes in order.
//
// Concatenated streams (several gzip members, xz streams, zstd frames or
// bzip2 streams, as pigz, pbzip2 or `cat` make them) decode as one. A zip
// archive decodes as its one file; one of more files is Corrupt.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

namespace qflash {

enum class StreamFormat : uint8_t { Gzip, Xz, Zstd, Bzip2, Zip };

const char* stream_format_name(StreamFormat format);

// The format whose magic `head` (the first bytes of a file, at least 6 for
// a sure answer) starts with, or nullopt.
std::optional<StreamFormat> detect_stream_format(std::span<const uint8_t> head);

enum class StreamStatus {
  Ok,       // progress made; call again with more input or more room
  End,      // `last` was set and the whole stream is decoded
  Corrupt,  // not a valid stream (message() says why)
};

class StreamDecoder {
 public:
  virtual ~StreamDecoder() = default;
  // Decodes from the front of `in` into the front of `out`, and moves both
  // spans past what was consumed and produced. `last` says `in` holds the
  // end of the input. Returns Ok while there is more to do: the caller
  // presents the unconsumed input again with more after it. A stream whose
  // input ends (`last`) in the middle of a member stays Ok with nothing
  // produced: the caller reports it truncated.
  virtual StreamStatus decode(std::span<const uint8_t>& in, std::span<uint8_t>& out, bool last) = 0;
  // Back to the start of a new stream (a second pass), keeping allocations;
  // clears message().
  virtual void reset() = 0;
  // What the library said about a Corrupt stream.
  const std::string& message() const { return message_; }

 protected:
  // Keeps `why` for message(); returns Corrupt, for decode() to return.
  StreamStatus fail(std::string why) {
    message_ = std::move(why);
    return StreamStatus::Corrupt;
  }
  std::string message_;
};

// `threads`: decoding threads the format may use (xz, bzip2); 0 for one per CPU.
// `memory_limit`: bytes the decoder may allocate (a stream asking for more,
// e.g. an xz dictionary beyond it, is Corrupt with a message that says so).
std::unique_ptr<StreamDecoder> make_stream_decoder(StreamFormat format, unsigned threads,
                                                   uint64_t memory_limit);

}  // namespace qflash
