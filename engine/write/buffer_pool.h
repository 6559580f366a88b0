// BufferPool: a fixed number of equal, page-aligned buffers (O_DIRECT-ready)
// carved from one anonymous mapping. Its size never changes, which is what
// bounds the engine's memory whatever the image size or target count.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "io/base/error.h"

namespace qflash {

class BufferPool {
 public:
  static Result<BufferPool> create(size_t count, size_t buffer_size);

  BufferPool(BufferPool&& o) noexcept;
  BufferPool& operator=(BufferPool&&) = delete;
  BufferPool(const BufferPool&) = delete;
  ~BufferPool();

  size_t buffer_size() const { return size_; }
  size_t count() const { return count_; }
  // Index of a free buffer, or -1 when all are in use.
  int acquire();
  void release(int index) { free_.push_back(index); }
  std::span<uint8_t> buffer(int index) const { return {base_ + size_t(index) * size_, size_}; }

 private:
  BufferPool() = default;
  uint8_t* base_ = nullptr;
  size_t count_ = 0, size_ = 0;
  std::vector<int> free_;
};

}  // namespace qflash
