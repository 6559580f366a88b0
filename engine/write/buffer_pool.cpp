#include "engine/write/buffer_pool.h"

#include <sys/mman.h>

#include <utility>

namespace qflash {

Result<BufferPool> BufferPool::create(size_t count, size_t buffer_size) {
  BufferPool p;
  void* m = ::mmap(nullptr, count * buffer_size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) return io_error("allocate " + std::to_string(count * buffer_size) + " bytes of buffers", errno);
  // Huge pages where the kernel has them: a 256 MiB pool is otherwise
  // 65536 page faults as it is first written. Advice only; may be refused.
  ::madvise(m, count * buffer_size, MADV_HUGEPAGE);
  p.base_ = static_cast<uint8_t*>(m);
  p.count_ = count;
  p.size_ = buffer_size;
  for (size_t i = count; i-- > 0;) p.free_.push_back(int(i));
  return p;
}

BufferPool::BufferPool(BufferPool&& o) noexcept
    : base_(std::exchange(o.base_, nullptr)),
      count_(o.count_),
      size_(o.size_),
      free_(std::move(o.free_)) {}

BufferPool::~BufferPool() {
  if (base_) ::munmap(base_, count_ * size_);
}

int BufferPool::acquire() {
  if (free_.empty()) return -1;
  int i = free_.back();
  free_.pop_back();
  return i;
}

}  // namespace qflash
