// The QCOW2 header (v2 and v3) and its extensions, parsed and validated
// against the file it came from. See qemu's docs/interop/qcow2.rst.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "codecs/codec.h"
#include "io/source.h"

namespace qflash {

inline constexpr uint32_t kQcow2Magic = 0x514649fb;  // "QFI\xfb"

// Incompatible feature bits.
inline constexpr uint64_t kIncompatDirty = 1u << 0;
inline constexpr uint64_t kIncompatCorrupt = 1u << 1;
inline constexpr uint64_t kIncompatDataFile = 1u << 2;
inline constexpr uint64_t kIncompatCompression = 1u << 3;
inline constexpr uint64_t kIncompatExtendedL2 = 1u << 4;
inline constexpr uint64_t kIncompatKnown = 0x1f;
// Compatible and autoclear bits.
inline constexpr uint64_t kCompatLazyRefcounts = 1u << 0;
inline constexpr uint64_t kAutoclearBitmaps = 1u << 0;
inline constexpr uint64_t kAutoclearDataFileRaw = 1u << 1;

struct FeatureName {
  uint8_t type;  // 0 incompatible, 1 compatible, 2 autoclear
  uint8_t bit;
  std::string name;
};

struct Qcow2Header {
  uint32_t version = 0;
  uint64_t backing_file_offset = 0;
  uint32_t backing_file_size = 0;
  uint32_t cluster_bits = 0;
  uint64_t size = 0;  // virtual size in bytes
  uint32_t crypt_method = 0;
  uint32_t l1_size = 0;
  uint64_t l1_table_offset = 0;
  uint64_t refcount_table_offset = 0;
  uint32_t refcount_table_clusters = 0;
  uint32_t nb_snapshots = 0;
  uint64_t snapshots_offset = 0;
  uint64_t incompatible_features = 0;
  uint64_t compatible_features = 0;
  uint64_t autoclear_features = 0;
  uint32_t refcount_order = 4;
  uint32_t header_length = 72;
  Codec compression = Codec::Deflate;

  // From the header extensions.
  std::string backing_file;                 // empty: no backing file
  std::optional<std::string> backing_format;
  std::optional<std::string> data_file;     // external data file name
  std::vector<FeatureName> feature_names;
  std::vector<uint32_t> unknown_extensions; // types skipped

  uint64_t cluster_size() const { return uint64_t{1} << cluster_bits; }
  bool extended_l2() const { return incompatible_features & kIncompatExtendedL2; }
  bool has_data_file() const { return incompatible_features & kIncompatDataFile; }
  bool data_file_raw() const { return autoclear_features & kAutoclearDataFileRaw; }
  uint32_t l2_entry_size() const { return extended_l2() ? 16 : 8; }
  uint32_t l2_bits() const { return cluster_bits - (extended_l2() ? 4 : 3); }
  uint64_t l2_entries() const { return uint64_t{1} << l2_bits(); }
  uint32_t subcluster_bits() const { return cluster_bits - (extended_l2() ? 5 : 0); }
  // Name of an incompatible feature bit, from the table or the spec.
  std::string incompatible_name(unsigned bit) const;
};

// Index arithmetic, named and computed as in qemu's block/qcow2.h.
inline uint64_t offset_into_cluster(const Qcow2Header& h, uint64_t offset) {
  return offset & (h.cluster_size() - 1);
}
inline uint64_t start_of_cluster(const Qcow2Header& h, uint64_t offset) {
  return offset & ~(h.cluster_size() - 1);
}
inline uint64_t size_to_clusters(const Qcow2Header& h, uint64_t size) {
  return (size + h.cluster_size() - 1) >> h.cluster_bits;
}
// L1 entries needed for a virtual disk of `size` bytes.
inline uint64_t size_to_l1(const Qcow2Header& h, uint64_t size) {
  const unsigned shift = h.cluster_bits + h.l2_bits();
  return (size + (uint64_t{1} << shift) - 1) >> shift;
}
inline uint64_t offset_to_l1_index(const Qcow2Header& h, uint64_t offset) {
  return offset >> (h.l2_bits() + h.cluster_bits);
}
inline uint64_t offset_to_l2_index(const Qcow2Header& h, uint64_t offset) {
  return (offset >> h.cluster_bits) & (h.l2_entries() - 1);
}
inline unsigned subclusters_per_cluster(const Qcow2Header& h) {
  return 1u << (h.cluster_bits - h.subcluster_bits());
}
inline unsigned offset_to_sc_index(const Qcow2Header& h, uint64_t offset) {
  return unsigned(offset >> h.subcluster_bits()) & (subclusters_per_cluster(h) - 1);
}
// Guest bytes one L2 table maps (one L1 entry's span).
inline uint64_t l1_entry_span(const Qcow2Header& h) {
  return uint64_t{1} << (h.cluster_bits + h.l2_bits());
}

// True when the first bytes carry the QCOW2 magic (format probing).
bool has_qcow2_magic(const Source& src);

// Reads and validates the header against `src` (offsets inside the file,
// sizes in range, features we implement). Errors name src.name().
Result<Qcow2Header> read_qcow2_header(const Source& src);

}  // namespace qflash
