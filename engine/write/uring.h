// Ring: the one owner of an io_uring instance (liburing), with the small
// helpers the engine's submit/complete loop needs: an SQE that is never null
// (submitting when the queue is full) and a wait with a timeout.
#pragma once

#include <liburing.h>

#include "io/base/error.h"

namespace qflash {

class Ring {
 public:
  // Fails with a one-line error naming io_uring when the kernel refuses it
  // (kernel.io_uring_disabled, seccomp, old kernel).
  static Result<Ring> create(unsigned entries);

  Ring(Ring&& o) noexcept;
  Ring& operator=(Ring&&) = delete;
  Ring(const Ring&) = delete;
  ~Ring();

  // A free submission entry; submits the queued ones first if there is none.
  io_uring_sqe* sqe();
  // Submits everything queued; errors other than EINTR/EAGAIN/EBUSY are fatal.
  Status submit();
  // Submits, then waits for at least one completion; null when a signal
  // interrupted the wait or `timeout_ms` passed (the caller checks its stop
  // flag: with signals blocked in this thread nothing else would wake it).
  Result<io_uring_cqe*> wait(unsigned timeout_ms);
  io_uring_cqe* peek();
  void seen(io_uring_cqe* cqe) { io_uring_cqe_seen(&ring_, cqe); }

 private:
  Ring() = default;
  io_uring ring_{};
  bool live_ = false;
};

}  // namespace qflash
