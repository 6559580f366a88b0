// ChunkCache: a bounded LRU of fixed-size chunks of a remote file, keyed by
// chunk index. Chunks are shared and immutable, so a reader may keep copying
// from one after it was evicted. Not locked: its owner holds the lock.
// ChunkPool: the chunks' buffers, recycled once the last holder lets go,
// so their pages stay mapped (a fresh buffer costs a page fault per 4 KiB,
// which at network rates costs more than the copy into it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace qflash {

class ChunkPool : public std::enable_shared_from_this<ChunkPool> {
 public:
  // Keeps at most `keep` free buffers. Thread-safe.
  explicit ChunkPool(size_t keep) : keep_(keep) {}
  // An empty buffer with room for `bytes`, recycled if one is free.
  std::vector<uint8_t> take(size_t bytes);
  // `buffer` as an immutable chunk that comes back here when released.
  std::shared_ptr<const std::vector<uint8_t>> share(std::vector<uint8_t> buffer);
  // Takes `buffer` back (or frees it, beyond `keep`).
  void give(std::vector<uint8_t> buffer);

 private:
  std::mutex mu_;
  std::vector<std::vector<uint8_t>> free_;
  size_t keep_;
};

class ChunkCache {
 public:
  using Chunk = std::shared_ptr<const std::vector<uint8_t>>;

  // At most `capacity` chunks, of which at most `retired_kept` retired ones.
  explicit ChunkCache(size_t capacity, size_t retired_kept = SIZE_MAX)
      : capacity_(capacity ? capacity : 1), retired_kept_(retired_kept) {}

  // The chunk, now the most recently used, or null.
  Chunk get(uint64_t index);
  // The chunk, its place in the order unchanged, or null.
  Chunk peek(uint64_t index) const;
  bool contains(uint64_t index) const { return where_.count(index) != 0; }
  // The chunk, if cached, becomes the first to be evicted; beyond
  // `retired_kept` retired chunks, the oldest retired one goes at once (its
  // buffer back to the pool while it is warm, not after the whole cache).
  void retire(uint64_t index);
  // A reader took bytes [from, from + bytes) of the chunk; true once its
  // first and last bytes have both been taken.
  bool taken(uint64_t index, size_t from, size_t bytes);
  // Chunks before `index` are behind every reader: one whose first or last
  // byte was not taken there will not be, and is no longer awaited.
  void keep_from(uint64_t index) { keep_from_ = index; }
  // Cached chunks still awaited: from keep_from on, and their first or
  // last byte not taken yet (O(size)).
  size_t awaited() const;
  // Inserts or replaces (taking back one reserved place, if any); evicts
  // beyond capacity, least recently used first within each kind: retired
  // chunks, then those not awaited, then those taken in part (a read across
  // two chunks took the end of one; the reader of its start may come
  // later), and only then read-ahead no reader took yet (dropping it means
  // fetching it again), the farthest in the file first (its reader comes
  // last).
  void put(uint64_t index, Chunk chunk);
  // Room for `n` chunks on their way: they count against the capacity from
  // now on (evicting what that takes), until each is put or unreserved.
  void reserve(size_t n);
  void unreserve(size_t n);
  size_t size() const { return lru_.size() + retired_.size(); }
  // Places reserved for chunks on their way.
  size_t reserved() const { return reserved_; }
  size_t capacity() const { return capacity_; }

 private:
  struct Entry {
    uint64_t index;
    Chunk chunk;
    bool retired = false;
    bool took_first = false, took_last = false;  // its first, its last byte
  };
  bool awaited(const Entry& e) const { return e.index >= keep_from_ && !(e.took_first && e.took_last); }
  void drop(std::list<Entry>& list, std::list<Entry>::iterator e);
  // `keep_newest`: never the most recent (the one just put).
  void evict(bool keep_newest);

  size_t capacity_, retired_kept_, reserved_ = 0;
  uint64_t keep_from_ = 0;
  std::list<Entry> lru_;      // most recently used first
  std::list<Entry> retired_;  // oldest first: evicted before any in lru_
  std::unordered_map<uint64_t, std::list<Entry>::iterator> where_;
};

}  // namespace qflash
