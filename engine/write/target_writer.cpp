#include "engine/write/target_writer.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace qflash {
namespace {

bool aligned(uint64_t v, uint32_t a) { return (v & (a - 1)) == 0; }

// --wipe-rest zeroes the rest of a device in pieces this large, so that a
// refused device command falls back to writes piece by piece and progress
// stays visible.
constexpr uint64_t kWipePiece = 64u << 20;

}  // namespace

HeadBuffer::~HeadBuffer() { std::free(data); }

TargetWriter::TargetWriter(int id, WriteTarget target, std::shared_ptr<HeadBuffer> head,
                           const WritePolicy& policy)
    : id_(id), wt_(std::move(target)), head_(std::move(head)), policy_(policy),
      use_direct_(wt_.target.direct.valid()), use_zeroout_(wt_.target.block_device) {
  result_.path = wt_.target.path;
  digested_ = wt_.guest_start;
  joined = std::chrono::steady_clock::now();
}

void TargetWriter::prepare(bool size_known) {
  const Target& t = wt_.target;
  touched = true;
  if (t.block_device) return;
  if (::ftruncate(t.fd.get(), 0) < 0 || (size_known && ::ftruncate(t.fd.get(), off_t(wt_.length)) < 0))
    fail(io_error("truncate " + t.path, errno), 0);
}

void TargetWriter::shorten(uint64_t length) {
  wt_.length = std::min(wt_.length, length);
  const Target& t = wt_.target;
  if (touched && !t.block_device && ::ftruncate(t.fd.get(), off_t(wt_.length)) < 0)
    fail(io_error("truncate " + t.path, errno), 0);
}

unsigned TargetWriter::issue(int slot_index, Slot& s, OpQueue& ops) {
  const ChunkPlan& p = s.plan;
  queued_ = 0;
  const uint64_t a = std::max(p.guest, wt_.guest_start);
  const uint64_t b = std::min(p.guest + p.length, end());
  if (a >= b) return 0;
  // The first MiB is kept back (copied) and written at the very end.
  const uint64_t hold = std::min(b, head_end());
  if (a < hold) std::memcpy(head_->data + (a - wt_.guest_start), s.data + (a - p.guest), hold - a);
  const uint64_t from = std::max(a, hold);
  if (from >= b) return 0;

  const Target& tg = wt_.target;
  // Zeros are skipped where they read back as zeros anyway: holes in
  // regular files, and pre-zeroed devices with --sparse (unless the rest of
  // the device is being wiped: then it is a dirty drive). Elsewhere the
  // device zeroes them itself where it can (no data crosses the bus).
  const bool skip_zeros = !tg.block_device || (policy_.sparse && !policy_.wipe_rest);
  uint64_t skipped = 0;
  for (const Span64& r : p.holes) {
    const uint64_t ra = std::max(from, p.guest + r.offset);
    const uint64_t rb = std::min(b, p.guest + r.offset + r.length);
    if (ra >= rb) continue;
    const uint64_t off = ra - wt_.guest_start;
    if (skip_zeros)
      skipped += rb - ra;
    else if (use_zeroout_ && aligned(off, tg.logical_block) && aligned(rb - ra, tg.logical_block))
      queue_zero(ops, slot_index, off, rb - ra);
    else
      queue_write(ops, slot_index, s.data + (ra - p.guest), off, rb - ra);
  }
  for (const Span64& r : p.writes) {
    const uint64_t ra = std::max(from, p.guest + r.offset);
    const uint64_t rb = std::min(b, p.guest + r.offset + r.length);
    if (ra < rb) queue_write(ops, slot_index, s.data + (ra - p.guest), ra - wt_.guest_start, rb - ra);
  }
  result_.bytes += skipped;
  return queued_;
}

void TargetWriter::digest(Slot& s, uint64_t end) {
  const ChunkPlan& p = s.plan;
  const uint64_t a = std::max(p.guest, wt_.guest_start);
  const uint64_t b = std::min(p.guest + p.length, end);
  if (a >= b) return;
  // Targets starting at the same guest offset hold the same digest state
  // when they reach the same chunk: the first to take the whole chunk in
  // leaves its state in the slot for the others (the hash thread runs the
  // jobs in the order they were posted, so it is there when they come).
  if (s.digest && s.digest_start == wt_.guest_start && digested_ == a && b == p.guest + p.length) {
    digest_ = s.digest->copy();
  } else {
    digest_.update({s.data + (a - p.guest), b - a});
    if (b == p.guest + p.length) {
      s.digest = digest_.copy();
      s.digest_start = wt_.guest_start;
    }
  }
  digested_ = b;
}

void TargetWriter::finish_digest() { result_.sha256 = digest_.finish(); }

void TargetWriter::issue_wipe(OpQueue& ops) {
  const Target& tg = wt_.target;
  if (!policy_.wipe_rest || !tg.block_device || tg.size <= wt_.length) return;
  for (uint64_t at = wt_.length; at < tg.size; at += kWipePiece) {
    queue_zero(ops, -1, at, std::min(kWipePiece, tg.size - at));
    ++inflight;
  }
}

void TargetWriter::issue_head(OpQueue& ops, bool good) {
  const uint64_t n = head_end() - wt_.guest_start;
  queued_ = 0;
  if (n == 0) return;
  if (good) {
    queue_write(ops, -1, head_->data, 0, n);
  } else {
    // Never written, so the device may still hold an old boot sector: zero
    // it. On a file the range is a hole already; a target the run never
    // touched is left alone.
    if (!wt_.target.block_device || !touched) return;
    queue_zero(ops, -1, 0, n);
  }
  inflight += queued_;
  queued_ = 0;
}

void TargetWriter::issue_sync(OpQueue& ops) {
  Op op{OpKind::Sync};
  op.target = id_;
  op.fd = wt_.target.fd.get();
  ops.add(op);
  ++inflight;
}

// A write of target bytes [offset, +length) from `buf`: through the O_DIRECT
// descriptor where buffer, offset and length allow, the unaligned tail and
// everything else through the buffered one.
void TargetWriter::queue_write(OpQueue& ops, int slot, const uint8_t* buf, uint64_t offset,
                               uint64_t length) {
  const Target& tg = wt_.target;
  Op op{OpKind::Write};
  op.slot = slot;
  op.target = id_;
  op.buf = const_cast<uint8_t*>(buf);
  op.offset = offset;
  op.length = length;
  const uint32_t lb = tg.logical_block;
  if (use_direct_ && aligned(uintptr_t(buf), lb) && aligned(offset, lb) && length >= lb) {
    const uint64_t tail = length & (lb - 1);
    op.length -= tail;
    op.fd = tg.direct.get();
    op.direct = true;
    ops.add(op);
    ++queued_;
    if (tail == 0) return;
    op.buf += op.length;
    op.offset += op.length;
    op.length = tail;
  }
  op.fd = tg.fd.get();
  op.direct = false;
  ops.add(op);
  ++queued_;
}

void TargetWriter::queue_zero(OpQueue& ops, int slot, uint64_t offset, uint64_t length) {
  Op op{OpKind::Zero};
  op.slot = slot;
  op.target = id_;
  op.fd = wt_.target.fd.get();
  op.offset = offset;
  op.length = length;
  ops.add(op);
  ++queued_;
}

void TargetWriter::fail(Error e, uint64_t at) {
  // Writes in flight complete out of order: the report names the lowest
  // offset that failed, not the first failure to come back.
  if (at >= failed_at_) return;
  if (live()) result_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - joined).count();
  failed_at_ = at;
  e.kind = ErrorKind::Target;
  result_.status = std::move(e);
  result_.sha256.reset();
}

void TargetWriter::complete(Op* op, int res, const uint8_t* zeros, uint64_t zeros_size) {
  auto where = [&] { return wt_.target.path + " at " + std::to_string(op->offset + op->done); };
  if (op->kind == OpKind::Sync) {
    if (res < 0) fail(io_error("flush " + wt_.target.path, -res), kFlushFailure);
    op->done = op->length;
    return;
  }
  // Bytes of the image: chunk writes and zeroing, and the first MiB when
  // written; not the zeroing of the first MiB or past the range (--wipe-rest).
  const bool image_bytes = op->slot >= 0 || (op->kind == OpKind::Write && !op->repeat);
  if (op->kind == OpKind::Zero) {
    if (res == 0) {
      op->done = op->length;
      if (image_bytes) result_.bytes += op->length;
    } else if (res == -EOPNOTSUPP || res == -EINVAL || res == -ENODEV) {
      // No zeroing on this device: write the zeros instead.
      use_zeroout_ = false;
      op->kind = OpKind::Write;
      op->buf = const_cast<uint8_t*>(zeros);
      op->repeat = zeros_size;
      op->fd = wt_.target.fd.get();
    } else if (res != -EAGAIN && res != -EINTR) {
      fail(io_error("zero " + where(), -res), op->offset + op->done);
    }
    return;
  }
  if (res == -EINVAL && op->direct) {
    // The file system took O_DIRECT at open but refuses this write: go on buffered.
    use_direct_ = false;
    op->fd = wt_.target.fd.get();
    op->direct = false;
    return;
  }
  if (res == -EAGAIN || res == -EINTR) return;
  if (res <= 0) return fail(io_error("write " + where(), res < 0 ? -res : ENOSPC), op->offset + op->done);
  op->done += uint64_t(res);
  if (image_bytes) result_.bytes += uint64_t(res);
}

}  // namespace qflash
