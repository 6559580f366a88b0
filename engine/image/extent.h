// Extent: a run of the virtual disk and where its bytes come from, fully
// resolved through the backing chain. The unit the reader and engine consume.
#pragma once

#include <cstdint>

#include "codecs/codec.h"
#include "io/source.h"

namespace qflash {

struct Extent {
  enum class Kind : uint8_t { Zero, Data, Compressed };
  Kind kind = Kind::Zero;
  Codec codec = Codec::Deflate;
  uint64_t guest = 0;
  uint64_t length = 0;
  const Source* source = nullptr;  // Data, Compressed: the file to read
  uint64_t host = 0;               // Data: offset of `guest`; Compressed: of the stream
  uint32_t csize = 0;              // Compressed: bytes of the stream
  uint32_t cluster_size = 0;       // Compressed: bytes it decodes to
  uint32_t skip = 0;               // Compressed: offset of `guest` in the decoded cluster
};

}  // namespace qflash
