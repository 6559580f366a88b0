// L2Cache: recently used L2 tables, decoded to host byte order, bounded in
// bytes, so walking the disk reads each table once.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "io/source.h"

namespace qflash {

class L2Cache {
 public:
  using Table = std::shared_ptr<const std::vector<uint64_t>>;

  // `table_bytes`: one table's size on disk; `budget`: bytes to keep.
  L2Cache(uint64_t table_bytes, uint64_t budget);

  // The table at `offset` of `src` (validated by the caller).
  Result<Table> get(const Source& src, uint64_t offset);

 private:
  struct Slot {
    uint64_t offset;
    uint64_t last_use;
    Table table;
  };
  uint64_t table_bytes_;
  size_t capacity_;
  uint64_t clock_ = 0;
  std::vector<Slot> slots_;
};

}  // namespace qflash
