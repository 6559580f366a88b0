// Private to io/stream/: the decoded size of a stream, read from the stream's
// own metadata without decoding it.
#pragma once

#include <cstdint>
#include <optional>

#include "io/source.h"

namespace qflash::detail {

// Sum of the uncompressed sizes in the indexes of every xz stream of `src`,
// read backwards from its end (footer, index, stream padding), as `xz -l`.
Result<uint64_t> xz_decoded_size(const Source& src);

// Sum of the content sizes of the zstd frames of `src`, walking frame and
// block headers (cheap with a descriptor); nullopt if a frame does not say.
// With `first_only`, only the first frame's header is read (for sources
// where a walk would read the whole file, e.g. over HTTP).
Result<std::optional<uint64_t>> zstd_decoded_size(const Source& src, bool first_only);

// The uncompressed size of the one file of the zip archive `src`, from its
// central directory (zip64 too); Corrupt if it holds another number of files.
Result<uint64_t> zip_decoded_size(const Source& src);

// The same for the first bytes of standard input: the first frame's size.
std::optional<uint64_t> zstd_first_frame_size(std::span<const uint8_t> head);

}  // namespace qflash::detail
