#include "engine/write/worker_pool.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>

#include "io/base/out_of_memory.h"

namespace qflash {

Result<std::unique_ptr<WorkerPool>> WorkerPool::create(unsigned threads) {
  std::unique_ptr<WorkerPool> p(new WorkerPool);
  p->efd_.reset(::eventfd(0, EFD_CLOEXEC));
  if (!p->efd_.valid()) return io_error("eventfd", errno);
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  for (unsigned i = 0; i < threads; ++i) p->threads_.emplace_back([w = p.get()] { w->run(); });
  return p;
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard lock(mu_);
    closing_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void WorkerPool::post(uint64_t tag, Job job) {
  {
    std::lock_guard lock(mu_);
    jobs_.emplace_back(tag, std::move(job));
  }
  cv_.notify_one();
}

std::vector<WorkerPool::Done> WorkerPool::take_done() {
  std::lock_guard lock(mu_);
  return std::exchange(done_, {});
}

void WorkerPool::run() {
  Decompressor dec;
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return closing_ || !jobs_.empty(); });
    if (jobs_.empty()) return;
    auto entry = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    // Not a structured binding: clang before 16 cannot capture one.
    Status st = catch_bad_alloc("worker job", [&] { return entry.second(dec); });
    lock.lock();
    done_.push_back({entry.first, std::move(st)});
    const uint64_t one = 1;
    // The counter only wakes the engine; its value is not used.
    [[maybe_unused]] ssize_t n = ::write(efd_.get(), &one, sizeof one);
  }
}

}  // namespace qflash
