#include "io/http/chunk_cache.h"

namespace qflash {

ChunkCache::Chunk ChunkCache::get(uint64_t index) {
  auto it = where_.find(index);
  if (it == where_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->second;
}

ChunkCache::Chunk ChunkCache::peek(uint64_t index) const {
  auto it = where_.find(index);
  return it == where_.end() ? nullptr : it->second->second;
}

void ChunkCache::put(uint64_t index, Chunk chunk) {
  if (auto it = where_.find(index); it != where_.end()) {
    it->second->second = std::move(chunk);
    lru_.splice(lru_.begin(), lru_, it->second);
    return;
  }
  lru_.emplace_front(index, std::move(chunk));
  where_[index] = lru_.begin();
  while (lru_.size() > capacity_) {
    where_.erase(lru_.back().first);
    lru_.pop_back();
  }
}

}  // namespace qflash
