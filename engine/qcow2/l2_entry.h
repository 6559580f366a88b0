// L1 and L2 table entries: bit layouts and the subcluster classification
// qemu uses (qcow2.h, qcow2_get_subcluster_type).
#pragma once

#include <cstdint>

namespace qflash {

inline constexpr uint64_t kL1OffsetMask = 0x00fffffffffffe00ull;
inline constexpr uint64_t kL2OffsetMask = 0x00fffffffffffe00ull;
inline constexpr uint64_t kL2Compressed = 1ull << 62;
inline constexpr uint64_t kL2Copied = 1ull << 63;
inline constexpr uint64_t kL2Zero = 1ull << 0;

enum class SubclusterType : uint8_t {
  Normal,             // data at host offset
  Compressed,         // the whole cluster is one compressed stream
  ZeroPlain,          // reads as zeros, no host cluster
  ZeroAlloc,          // reads as zeros, host cluster preallocated
  UnallocatedPlain,   // falls through to the backing file
  UnallocatedAlloc,   // falls through, though a host cluster exists
  Invalid,            // both the zero and the allocated bit set
};

struct L2Entry {
  uint64_t word = 0;
  uint64_t bitmap = 0;  // extended L2 only: bits 0-31 allocated, 32-63 zero

  // Whether a host cluster is allocated (not for compressed entries), as
  // qemu's qcow2_get_cluster_type: with an external data file host offset 0
  // is valid and the copied bit tells allocation apart, except in a zero
  // entry of a standard L2 table, which is allocated only at a non-zero offset.
  bool has_cluster(bool extended, bool external_data) const {
    const uint64_t host = word & kL2OffsetMask;
    if (!extended && (word & kL2Zero)) return host != 0;
    return host != 0 || (external_data && (word & kL2Copied));
  }

  SubclusterType type(bool extended, bool external_data, unsigned sc) const {
    if (word & kL2Compressed) return SubclusterType::Compressed;
    const bool allocated = has_cluster(extended, external_data);
    if (!extended) {
      if (word & kL2Zero) return allocated ? SubclusterType::ZeroAlloc : SubclusterType::ZeroPlain;
      return allocated ? SubclusterType::Normal : SubclusterType::UnallocatedPlain;
    }
    const bool zero = bitmap >> (32 + sc) & 1;
    const bool alloc = bitmap >> sc & 1;
    if (allocated) {
      if ((bitmap >> 32) & bitmap) return SubclusterType::Invalid;
      if (zero) return SubclusterType::ZeroAlloc;
      return alloc ? SubclusterType::Normal : SubclusterType::UnallocatedAlloc;
    }
    if (bitmap & 0xffffffffull) return SubclusterType::Invalid;
    return zero ? SubclusterType::ZeroPlain : SubclusterType::UnallocatedPlain;
  }
};

// Compressed cluster descriptor: host offset in the low bits, then the
// count of additional 512-byte sectors (spec: "Compressed Clusters Descriptor").
struct CompressedRef {
  uint64_t host;
  uint64_t size;
};

inline CompressedRef compressed_ref(uint64_t word, unsigned cluster_bits) {
  const unsigned shift = 62 - (cluster_bits - 8);
  const uint64_t host = word & ((uint64_t{1} << shift) - 1);
  const uint64_t sectors = ((word >> shift) & ((uint64_t{1} << (cluster_bits - 8)) - 1)) + 1;
  return {host, sectors * 512 - (host & 511)};
}

}  // namespace qflash
