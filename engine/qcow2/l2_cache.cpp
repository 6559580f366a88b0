// A handful of slots searched linearly: cheaper than a hash map at this size,
// and the most recent table is almost always the one asked for.
#include "engine/qcow2/l2_cache.h"

#include <algorithm>

#include "io/base/endian.h"

namespace qflash {

L2Cache::L2Cache(uint64_t table_bytes, uint64_t budget)
    : table_bytes_(table_bytes), capacity_(std::max<uint64_t>(2, budget / table_bytes)) {}

Result<L2Cache::Table> L2Cache::get(const Source& src, uint64_t offset) {
  for (auto& s : slots_)
    if (s.offset == offset) {
      s.last_use = ++clock_;
      return s.table;
    }
  std::vector<uint8_t> raw(table_bytes_);
  QF_TRY(src.read_exact(raw, offset));
  auto table = std::make_shared<std::vector<uint64_t>>(table_bytes_ / 8);
  for (size_t i = 0; i < table->size(); ++i) (*table)[i] = load_be64(&raw[i * 8]);
  if (slots_.size() == capacity_) {
    auto oldest = std::min_element(slots_.begin(), slots_.end(), [](auto& a, auto& b) {
      return a.last_use < b.last_use;
    });
    slots_.erase(oldest);
  }
  slots_.push_back({offset, ++clock_, table});
  return Table(std::move(table));
}

}  // namespace qflash
