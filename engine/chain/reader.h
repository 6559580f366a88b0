// Reader: synchronous reads of the virtual disk (ReadVirtualBytes). Used by
// `qflash read`, the partition table parser and the tests; the bulk write
// path is the io_uring engine.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "codecs/codec.h"
#include "engine/chain/chain.h"

namespace qflash {

class Reader {
 public:
  explicit Reader(Chain& chain) : chain_(chain) {}

  // Fills `buf` with the virtual disk's bytes at `offset`.
  Status read(std::span<uint8_t> buf, uint64_t offset);

 private:
  Chain& chain_;
  Decompressor dec_;
  std::vector<Extent> extents_;
  std::vector<uint8_t> cbuf_, cluster_;
};

// Bytes of one extent into `out` (out.size() == e.length): shared by the
// reader and the engine's fallback paths. `cbuf` and `cluster` are scratch.
Status read_extent(const Extent& e, std::span<uint8_t> out, Decompressor& dec,
                   std::vector<uint8_t>& cbuf, std::vector<uint8_t>& cluster);

// Decodes a compressed cluster from `in` into `cluster` (e.cluster_size
// bytes); the error names the file and the guest offset.
Status decode_cluster(const Extent& e, std::span<const uint8_t> in, std::span<uint8_t> cluster,
                      Decompressor& dec);

}  // namespace qflash
