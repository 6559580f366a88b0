#include "engine/qcow2/l2_cache.h"

#include <algorithm>

#include "io/base/endian.h"

namespace qflash {

L2Cache::L2Cache(uint64_t slice_bytes, uint64_t budget) : slice_bytes_(slice_bytes) {
  set_budget(budget);
}

void L2Cache::set_budget(uint64_t budget) {
  capacity_ = size_t(std::max<uint64_t>(2, budget / slice_bytes_));
  evict();
}

void L2Cache::evict() {
  while (lru_.size() > capacity_) {
    index_.erase(lru_.back().offset);
    lru_.pop_back();
  }
}

Result<L2Cache::Slice> L2Cache::get(const Source& src, uint64_t offset) {
  if (auto it = index_.find(offset); it != index_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second);
    return it->second->slice;
  }
  std::vector<uint8_t> raw(slice_bytes_);
  QF_TRY(src.read_exact(raw, offset));
  auto slice = std::make_shared<std::vector<uint64_t>>(slice_bytes_ / 8);
  for (size_t i = 0; i < slice->size(); ++i) (*slice)[i] = load_be64(&raw[i * 8]);
  lru_.push_front({offset, slice});
  index_[offset] = lru_.begin();
  evict();
  return Slice(std::move(slice));
}

}  // namespace qflash
