#include "io/http/chunk_cache.h"

#include <sys/mman.h>

#include <algorithm>

namespace qflash {

std::vector<uint8_t> ChunkPool::take(size_t bytes) {
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
  // Faulted in with one call, not one exception per page.
  auto begin = (reinterpret_cast<uintptr_t>(v.data()) + 4095) & ~uintptr_t(4095);
  auto end = (reinterpret_cast<uintptr_t>(v.data()) + bytes) & ~uintptr_t(4095);
  if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_POPULATE_WRITE);
  return v;
}

std::shared_ptr<const std::vector<uint8_t>> ChunkPool::share(std::vector<uint8_t> buffer) {
  auto self = shared_from_this();
  return std::shared_ptr<const std::vector<uint8_t>>(
      new std::vector<uint8_t>(std::move(buffer)), [self](const std::vector<uint8_t>* v) {
        self->give(std::move(*const_cast<std::vector<uint8_t>*>(v)));
        delete v;
      });
}

void ChunkPool::give(std::vector<uint8_t> buffer) {
  std::lock_guard lk(mu_);
  if (free_.size() < keep_) free_.push_back(std::move(buffer));
}

ChunkCache::Chunk ChunkCache::get(uint64_t index) {
  auto it = where_.find(index);
  if (it == where_.end()) return nullptr;
  auto e = it->second;
  lru_.splice(lru_.begin(), e->retired ? retired_ : lru_, e);
  e->retired = false;
  return e->chunk;
}

ChunkCache::Chunk ChunkCache::peek(uint64_t index) const {
  auto it = where_.find(index);
  return it == where_.end() ? nullptr : it->second->chunk;
}

void ChunkCache::retire(uint64_t index) {
  auto it = where_.find(index);
  if (it == where_.end() || it->second->retired) return;
  it->second->retired = true;
  it->second->took_first = it->second->took_last = true;
  retired_.splice(retired_.end(), lru_, it->second);
  if (retired_.size() > retired_kept_) drop(retired_, retired_.begin());
}

bool ChunkCache::taken(uint64_t index, size_t from, size_t bytes) {
  auto it = where_.find(index);
  if (it == where_.end() || bytes == 0) return false;
  Entry& e = *it->second;
  e.took_first = e.took_first || from == 0;
  e.took_last = e.took_last || from + bytes == e.chunk->size();
  return e.took_first && e.took_last;
}

void ChunkCache::put(uint64_t index, Chunk chunk) {
  unreserve(1);
  if (auto it = where_.find(index); it != where_.end()) {
    it->second->chunk = std::move(chunk);
    get(index);
    return;
  }
  lru_.push_front({index, std::move(chunk)});
  where_[index] = lru_.begin();
  while (size() > 1 && size() + reserved_ > capacity_) evict(true);  // never the one put
}

void ChunkCache::reserve(size_t n) {
  reserved_ += n;
  while (size() > 0 && size() + reserved_ > capacity_) evict(false);
}

void ChunkCache::unreserve(size_t n) { reserved_ -= std::min(n, reserved_); }

void ChunkCache::drop(std::list<Entry>& list, std::list<Entry>::iterator e) {
  where_.erase(e->index);
  list.erase(e);
}

size_t ChunkCache::awaited() const {
  size_t n = 0;
  for (const Entry& e : lru_) n += awaited(e);
  return n;
}

void ChunkCache::evict(bool keep_newest) {
  if (!retired_.empty()) return drop(retired_, retired_.begin());
  const auto end = keep_newest ? std::next(lru_.begin()) : lru_.begin();
  auto part = lru_.end(), farthest = lru_.end();
  for (auto e = lru_.end(); e != end;) {
    --e;
    if (!awaited(*e)) return drop(lru_, e);
    if (e->took_first || e->took_last) {
      if (part == lru_.end()) part = e;
    } else if (farthest == lru_.end() || e->index > farthest->index) {
      farthest = e;
    }
  }
  drop(lru_, part != lru_.end() ? part : farthest);
}

}  // namespace qflash
