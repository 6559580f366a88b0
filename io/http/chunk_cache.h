// ChunkCache: a bounded LRU of fixed-size chunks of a remote file, keyed by
// chunk index. Chunks are shared and immutable, so a reader may keep copying
// from one after it was evicted. Not locked: its owner holds the lock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <unordered_map>
#include <vector>

namespace qflash {

class ChunkCache {
 public:
  using Chunk = std::shared_ptr<const std::vector<uint8_t>>;

  explicit ChunkCache(size_t capacity) : capacity_(capacity ? capacity : 1) {}

  // The chunk, now the most recently used, or null.
  Chunk get(uint64_t index);
  // The chunk, its place in the order unchanged, or null.
  Chunk peek(uint64_t index) const;
  bool contains(uint64_t index) const { return where_.count(index) != 0; }
  // Inserts or replaces; evicts the least recently used beyond capacity.
  void put(uint64_t index, Chunk chunk);
  size_t size() const { return lru_.size(); }
  size_t capacity() const { return capacity_; }

 private:
  size_t capacity_;
  std::list<std::pair<uint64_t, Chunk>> lru_;  // most recently used first
  std::unordered_map<uint64_t, std::list<std::pair<uint64_t, Chunk>>::iterator> where_;
};

}  // namespace qflash
