#include "engine/write/uring.h"

#include <utility>

namespace qflash {

Result<Ring> Ring::create(unsigned entries) {
  Ring r;
  int rc = io_uring_queue_init(entries, &r.ring_, 0);
  if (rc < 0)
    return io_error("io_uring unavailable (check sysctl kernel.io_uring_disabled and seccomp)", -rc);
  r.live_ = true;
  return r;
}

Ring::Ring(Ring&& o) noexcept : ring_(o.ring_), live_(std::exchange(o.live_, false)) {}

Ring::~Ring() {
  if (live_) io_uring_queue_exit(&ring_);
}

io_uring_sqe* Ring::sqe() {
  io_uring_sqe* s = io_uring_get_sqe(&ring_);
  while (!s) {
    io_uring_submit(&ring_);
    s = io_uring_get_sqe(&ring_);
  }
  return s;
}

Status Ring::submit() {
  for (;;) {
    int rc = io_uring_submit(&ring_);
    if (rc >= 0) return {};
    if (rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) return io_error("io_uring submit", -rc);
    if (rc != -EINTR) return {};  // the ring is full of completions: reap first
  }
}

Result<io_uring_cqe*> Ring::wait(unsigned timeout_ms) {
  QF_TRY(submit());
  __kernel_timespec ts{timeout_ms / 1000, long(timeout_ms % 1000) * 1000000};
  io_uring_cqe* cqe = nullptr;
  const int rc = io_uring_wait_cqe_timeout(&ring_, &cqe, &ts);
  if (rc == 0) return cqe;
  if (rc == -EINTR || rc == -ETIME) return static_cast<io_uring_cqe*>(nullptr);
  return io_error("io_uring wait", -rc);
}

io_uring_cqe* Ring::peek() {
  io_uring_cqe* cqe = nullptr;
  return io_uring_peek_cqe(&ring_, &cqe) == 0 ? cqe : nullptr;
}

}  // namespace qflash
