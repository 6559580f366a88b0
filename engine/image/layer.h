// Layer: one file of a backing chain (QCOW2 or raw), asked what it holds at
// a guest offset, without looking at its backing file.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "engine/image/extent.h"
#include "io/source.h"

namespace qflash {

struct LayerStatus {
  enum class Kind : uint8_t { Unallocated, Zero, Data, Compressed };
  Kind kind = Kind::Unallocated;
  uint64_t length = 0;        // bytes from the queried offset with this status
  bool offset_valid = false;  // host offset known (qemu-img map's "offset")
  uint64_t host = 0;          // of the queried offset (Data, and Zero/Unallocated when valid)
  const Source* file = nullptr;
  uint32_t csize = 0;         // Compressed: stream bytes at `host`
  uint32_t cluster_size = 0;  // Compressed
  uint32_t skip = 0;          // Compressed: queried offset within the cluster
  Codec codec = Codec::Deflate;
};

class Layer {
 public:
  virtual ~Layer() = default;
  virtual const Source& source() const = 0;
  virtual uint64_t size() const = 0;  // virtual size
  virtual const char* format() const = 0;
  // The external data file that holds this layer's clusters, if any.
  virtual const Source* data_file() const { return nullptr; }
  // The backing file's name as resolved, or empty.
  virtual std::string backing_name() const { return {}; }
  virtual std::string backing_format() const { return {}; }
  // Bytes of metadata cache (L2 tables) the layer may keep; a chain divides
  // one budget between its layers.
  virtual void set_cache_budget(uint64_t) {}
  // Status at `guest` (< size()), for at most `max` bytes (> 0).
  virtual Result<LayerStatus> status(uint64_t guest, uint64_t max) = 0;
  // True when qemu-img map looks through this layer's data runs into the
  // file below (qemu's BDRV_BLOCK_RECURSE) and reports its holes as zero.
  virtual bool map_recurses() { return false; }
  // Reads every table the layer has and checks every entry; no data.
  virtual Status validate() = 0;
};

}  // namespace qflash
