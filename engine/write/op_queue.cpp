#include "engine/write/op_queue.h"

#include <fcntl.h>
#include <linux/falloc.h>

#include <algorithm>

namespace qflash {

void OpQueue::add(const Op& op) {
  Op* o;
  if (free_.empty()) {
    o = &store_.emplace_back(op);
  } else {
    o = free_.back();
    free_.pop_back();
    *o = op;
  }
  backlog_.push_back(o);
}

Status OpQueue::submit(const std::function<bool(Op*)>& drop) {
  while (!backlog_.empty() && inflight_ < depth_) {
    Op* op = backlog_.front();
    backlog_.pop_front();
    if (drop(op)) continue;
    io_uring_sqe* sqe = ring_.sqe();
    uint64_t left = op->length - op->done;
    if (op->repeat) left = std::min(left, op->repeat);
    // One submission moves at most 1 GiB; the rest goes as a short completion.
    const unsigned len = unsigned(std::min<uint64_t>(left, 1u << 30));
    const uint64_t at = op->offset + op->done;
    switch (op->kind) {
      case OpKind::Read:
        io_uring_prep_read(sqe, op->fd, op->buf + op->done, len, at);
        break;
      case OpKind::Write:
        io_uring_prep_write(sqe, op->fd, op->repeat ? op->buf : op->buf + op->done, len, at);
        break;
      case OpKind::Zero:
        // KEEP_SIZE: a block device has no size to change; ZERO_RANGE
        // falls back to writing zeros in the kernel where the device cannot.
        io_uring_prep_fallocate(sqe, op->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, off_t(at),
                                off_t(len));
        break;
      case OpKind::Sync:
        io_uring_prep_fsync(sqe, op->fd, IORING_FSYNC_DATASYNC);
        break;
    }
    io_uring_sqe_set_data(sqe, op);
    ++inflight_;
  }
  return ring_.submit();
}

}  // namespace qflash
