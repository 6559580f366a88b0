#include "io/http/chunk_cache.h"

namespace qflash {

std::vector<uint8_t> BufferPool::take(size_t bytes) {
  std::lock_guard lk(mu_);
  for (size_t i = free_.size(); i-- > 0;)
    if (free_[i].capacity() >= bytes) {
      std::vector<uint8_t> v = std::move(free_[i]);
      free_[i] = std::move(free_.back());
      free_.pop_back();
      v.clear();
      return v;
    }
  std::vector<uint8_t> v;
  v.reserve(bytes);
  return v;
}

std::shared_ptr<const std::vector<uint8_t>> BufferPool::share(std::vector<uint8_t> buffer) {
  auto self = shared_from_this();
  return std::shared_ptr<const std::vector<uint8_t>>(
      new std::vector<uint8_t>(std::move(buffer)), [self](const std::vector<uint8_t>* v) {
        self->give(std::move(*const_cast<std::vector<uint8_t>*>(v)));
        delete v;
      });
}

void BufferPool::give(std::vector<uint8_t> buffer) {
  std::lock_guard lk(mu_);
  if (free_.size() < keep_) free_.push_back(std::move(buffer));
}

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

void ChunkCache::retire(uint64_t index) {
  auto it = where_.find(index);
  if (it != where_.end()) lru_.splice(lru_.end(), lru_, it->second);
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
