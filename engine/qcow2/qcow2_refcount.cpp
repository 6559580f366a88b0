// Counts referenced clusters the way qemu does: walk the clusters of the
// file in order, stop as soon as the count reaches the threshold.
#include "engine/qcow2/qcow2_refcount.h"

#include <vector>

#include "io/base/endian.h"

namespace qflash {
namespace {

constexpr uint64_t kRefTableOffsetMask = 0xfffffffffffffe00ull;

// Whether entry `i` of a refcount block with `bits`-wide entries is non-zero.
bool referenced(const std::vector<uint8_t>& block, uint64_t i, unsigned bits) {
  if (bits < 8) {
    const uint64_t bit = i * bits;
    return (block[bit / 8] >> (bit % 8)) & ((1u << bits) - 1);
  }
  const size_t bytes = bits / 8;
  for (size_t b = 0; b < bytes; ++b)
    if (block[i * bytes + b]) return true;
  return false;
}

}  // namespace

bool metadata_preallocated(const Source& src, const Qcow2Header& h) {
  const int64_t allocated = src.allocated_size();
  if (allocated < 0) return false;
  const uint64_t cs = h.cluster_size();
  const uint64_t real_clusters = uint64_t(allocated) / cs;
  const uint64_t threshold = std::max(real_clusters * 10 / 9, real_clusters + 2);
  const uint64_t end_cluster = size_to_clusters(h, src.size());

  const unsigned bits = 1u << h.refcount_order;
  const unsigned refcount_block_bits = h.cluster_bits + 3 - h.refcount_order;  // entries, log2
  const uint64_t table_entries = uint64_t(h.refcount_table_clusters) * cs / 8;
  std::vector<uint8_t> table(table_entries * 8);
  if (!src.read_exact(table, h.refcount_table_offset)) return false;

  std::vector<uint8_t> block(cs);
  uint64_t count = 0, loaded = UINT64_MAX;
  for (uint64_t i = 0; i < end_cluster && count < threshold; ++i) {
    const uint64_t t = i >> refcount_block_bits;
    if (t >= table_entries) break;
    const uint64_t off = load_be64(&table[t * 8]) & kRefTableOffsetMask;
    if (off == 0) {
      i = ((t + 1) << refcount_block_bits) - 1;  // the whole block's clusters are free
      continue;
    }
    if (offset_into_cluster(h, off)) return false;
    if (off != loaded) {
      if (!src.read_exact(block, off)) return false;
      loaded = off;
    }
    count += referenced(block, i & ((uint64_t{1} << refcount_block_bits) - 1), bits);
  }
  return count >= threshold;
}

}  // namespace qflash
