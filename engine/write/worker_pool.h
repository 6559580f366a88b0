// WorkerPool: threads that run the engine's CPU work (decompression, reads
// of sources without a file descriptor), each with its own Decompressor.
// Finished jobs are queued and announced on an eventfd, which the engine
// reads through its io_uring, so one loop waits for I/O and workers alike.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "codecs/codec.h"
#include "io/base/error.h"
#include "io/base/fd.h"

namespace qflash {

class WorkerPool {
 public:
  using Job = std::function<Status(Decompressor&)>;
  struct Done {
    uint64_t tag;
    Status status;
  };

  // `threads` == 0: one per logical CPU.
  static Result<std::unique_ptr<WorkerPool>> create(unsigned threads);
  ~WorkerPool();

  int eventfd() const { return efd_.get(); }
  void post(uint64_t tag, Job job);
  // Finished jobs since the last call (after the eventfd fired).
  std::vector<Done> take_done();

 private:
  WorkerPool() = default;
  void run();

  Fd efd_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<uint64_t, Job>> jobs_;
  std::vector<Done> done_;
  bool closing_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace qflash
