// L2Cache: recently used slices of L2 tables (qemu's l2-cache-entry-size),
// decoded to host byte order and bounded in bytes, so walking the disk reads
// each slice once. A hash map finds a slice in O(1); a list keeps LRU order.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <unordered_map>
#include <vector>

#include "io/source.h"

namespace qflash {

class L2Cache {
 public:
  using Slice = std::shared_ptr<const std::vector<uint64_t>>;

  // `slice_bytes`: one slice's size on disk (a power of two dividing the
  // table); `budget`: bytes of slices to keep (at least two are kept).
  L2Cache(uint64_t slice_bytes, uint64_t budget);

  // Changes the budget, dropping the least recently used slices beyond it.
  void set_budget(uint64_t budget);
  uint64_t slice_bytes() const { return slice_bytes_; }

  // The slice at `offset` of `src` (slice-aligned, inside the file: checked
  // by the caller). A slice returned stays valid while the caller holds it.
  Result<Slice> get(const Source& src, uint64_t offset);

 private:
  struct Entry {
    uint64_t offset;
    Slice slice;
  };
  void evict();

  uint64_t slice_bytes_;
  size_t capacity_;
  std::list<Entry> lru_;  // most recently used first
  std::unordered_map<uint64_t, std::list<Entry>::iterator> index_;
};

}  // namespace qflash
