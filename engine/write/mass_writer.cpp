// The io_uring engine behind write_image. One thread runs a submit/complete
// loop over chunks of guest space; each chunk is staged in a pool buffer
// (reads land in place, compressed clusters are decoded there by workers)
// and then written from that one buffer to every target. A chunk's buffer
// returns to the pool when the last target has written it, so a slow
// target holds the pace and memory stays fixed.
#include "engine/write/mass_writer.h"

#include <unistd.h>

#include <libdeflate.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>

#include "engine/write/buffer_pool.h"
#include "engine/write/op_queue.h"
#include "engine/write/planner.h"
#include "engine/chain/reader.h"
#include "engine/write/uring.h"
#include "engine/write/worker_pool.h"

namespace qflash {
namespace {

using Clock = std::chrono::steady_clock;

constexpr uint64_t kMaxChunk = 4u << 20;
constexpr uint64_t kMinChunk = 64u << 10;
constexpr uint64_t kEventTag = ~uint64_t(0);
// Where a failed flush ranks among a target's failures: after every write.
constexpr uint64_t kFlushFailure = UINT64_MAX - 1;
constexpr auto kProgressEvery = std::chrono::milliseconds(200);
// A compressed chunk is decoded as up to this many jobs, so that the
// workers share one chunk when few are in flight (small --memory).
constexpr size_t kDecodesPerJob = 16;

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

bool aligned(uint64_t v, uint32_t a) { return (v & (a - 1)) == 0; }

struct Slot {
  uint8_t* data = nullptr;  // its pool buffer, or the shared zeros
  ChunkPlan plan;
  std::vector<uint8_t> side;  // compressed streams
  unsigned pending = 0;       // reads, jobs or writes outstanding
  bool decoding = false;      // its worker jobs decode (else they read)
};

struct TargetState {
  WriteTarget* wt;
  TargetResult* result;
  bool use_direct;
  bool use_zeroout;  // zero runs by fallocate(ZERO_RANGE) on a block device
  uint64_t failed_at = UINT64_MAX;  // lowest target offset that failed
  uint64_t end() const { return wt->guest_start + wt->length; }
  bool live() const { return result->status.ok(); }
};

class Engine {
 public:
  Engine(Chain& chain, std::vector<WriteTarget>& targets, const WriteOptions& options,
         WriteReport& report)
      : chain_(chain), options_(options), report_(report) {
    for (auto& wt : targets) {
      report.targets.push_back(TargetResult{wt.target.path, 0, 0, {}, {}});
      progress_.push_back({0, wt.length, false});
    }
    for (size_t i = 0; i < targets.size(); ++i)
      targets_.push_back(
          {&targets[i], &report.targets[i], targets[i].target.direct.valid(), targets[i].target.block_device});
  }

  Status run();

 private:
  Status setup();
  void prepare_targets();
  uint64_t next_covered(uint64_t pos) const;
  Status start_chunk();
  void reads_done(int slot);
  void post_decodes(int slot);
  void ready(int slot);
  void queue_write(int slot, int t, uint8_t* buf, uint64_t offset, uint64_t length);
  void queue_zero(int slot, int t, uint64_t offset, uint64_t length);
  void finish_slot(int slot);
  bool drop(Op* op);
  Status complete(Op* op, int res);
  Status complete_read(Op* op, int res);
  void complete_write(Op* op, int res);
  Status on_jobs();
  void fail_target(int t, Error e, uint64_t at);
  void fail_run(Error e);
  void report_progress(bool force);
  bool busy() const { return busy_slots_ > 0 || !ops_->idle(); }
  Status loop_once();
  Status sync_targets();

  Chain& chain_;
  const WriteOptions& options_;
  WriteReport& report_;
  std::vector<TargetState> targets_;
  std::vector<TargetProgress> progress_;
  Clock::time_point t0_ = Clock::now(), last_progress_;

  uint64_t chunk_ = kMaxChunk, lo_ = 0, hi_ = 0, next_ = 0;
  bool stopping_ = false;
  Status error_;  // the image error that ends the run
  std::vector<Extent> extents_;
  std::unique_ptr<BufferPool> pool_, zeros_;
  std::vector<Slot> slots_;
  unsigned busy_slots_ = 0;
  uint64_t event_value_ = 0;
  std::unique_ptr<WorkerPool> workers_;
  std::unique_ptr<Ring> ring_;
  std::unique_ptr<OpQueue> ops_;
};

Status Engine::setup() {
  lo_ = UINT64_MAX;
  for (auto& t : targets_) {
    lo_ = std::min(lo_, t.wt->guest_start);
    hi_ = std::max(hi_, t.end());
  }
  if (hi_ > chain_.size()) return usage("a target's range ends past the virtual disk");
  next_ = lo_ = std::min(lo_, hi_);

  // Half the memory for chunk buffers, half for their compressed streams;
  // smaller chunks rather than fewer than four of them in flight.
  const uint64_t memory = std::max<uint64_t>(options_.memory, 2 * kMinChunk);
  while (chunk_ > kMinChunk && memory / (2 * chunk_) < 4) chunk_ /= 2;
  const size_t count = std::max<uint64_t>(2, memory / (2 * chunk_));
  QF_ASSIGN(auto pool, BufferPool::create(count, chunk_));
  pool_ = std::make_unique<BufferPool>(std::move(pool));
  QF_ASSIGN(auto zeros, BufferPool::create(1, chunk_));
  zeros_ = std::make_unique<BufferPool>(std::move(zeros));
  slots_.resize(count);

  const unsigned depth = std::clamp(options_.queue_depth, 1u, 4096u);  // io_uring's limit is 32768
  QF_ASSIGN(auto ring, Ring::create(depth + 1));  // + the eventfd read
  ring_ = std::make_unique<Ring>(std::move(ring));
  ops_ = std::make_unique<OpQueue>(*ring_, depth);
  QF_ASSIGN(workers_, WorkerPool::create(options_.jobs));
  io_uring_sqe* s = ring_->sqe();
  io_uring_prep_read(s, workers_->eventfd(), &event_value_, sizeof event_value_, 0);
  io_uring_sqe_set_data64(s, kEventTag);
  return {};
}

// Regular files start empty at their final size, so zero runs stay holes.
void Engine::prepare_targets() {
  for (size_t i = 0; i < targets_.size(); ++i) {
    const Target& t = targets_[i].wt->target;
    if (t.block_device) continue;
    if (::ftruncate(t.fd.get(), 0) < 0 || ::ftruncate(t.fd.get(), off_t(targets_[i].wt->length)) < 0)
      fail_target(int(i), io_error("truncate " + t.path, errno), 0);
  }
}

// The first offset >= pos inside some live target's range, or hi_.
uint64_t Engine::next_covered(uint64_t pos) const {
  uint64_t best = hi_;
  for (const auto& t : targets_) {
    if (!t.live() || t.end() <= pos || t.wt->length == 0) continue;
    best = std::min(best, std::max(pos, t.wt->guest_start));
  }
  return best;
}

Status Engine::start_chunk() {
  const uint64_t guest = next_;
  const uint64_t end = std::min((guest / chunk_ + 1) * chunk_, hi_);
  next_ = next_covered(end);
  extents_.clear();
  QF_TRY(chain_.resolve(guest, end - guest, extents_));
  int i = pool_->acquire();
  Slot& s = slots_[size_t(i)];
  ++busy_slots_;
  plan_chunk(guest, end - guest, extents_, s.plan);
  s.decoding = false;
  if (s.plan.all_zero()) {
    s.data = zeros_->buffer(0).data();
    ready(i);
    return {};
  }
  s.data = pool_->buffer(i).data();
  for (const Span64& z : s.plan.zeros) std::memset(s.data + z.offset, 0, z.length);
  s.side.resize(s.plan.side_bytes);
  if (s.plan.needs_worker_read) {
    s.pending = 1;
    workers_->post(uint64_t(i), [&s](Decompressor&) -> Status {
      for (const PlannedRead& r : s.plan.reads)
        QF_TRY(r.source->read_padded({(r.to_side ? s.side.data() : s.data) + r.offset, r.length}, r.host));
      return {};
    });
    return {};
  }
  for (const PlannedRead& r : s.plan.reads) {
    Op op{OpKind::Read};
    op.slot = i;
    op.fd = r.source->fd();
    op.source = r.source;
    op.buf = (r.to_side ? s.side.data() : s.data) + r.offset;
    op.offset = r.host;
    op.length = r.length;
    op.eof = r.source->size();
    ops_->add(op);
  }
  s.pending = unsigned(s.plan.reads.size());
  if (s.pending == 0) reads_done(i);
  return {};
}

void Engine::reads_done(int i) {
  if (slots_[size_t(i)].plan.decodes.empty())
    ready(i);
  else
    post_decodes(i);
}

void Engine::post_decodes(int i) {
  Slot& s = slots_[size_t(i)];
  s.decoding = true;
  const size_t n = s.plan.decodes.size();
  const size_t jobs = (n + kDecodesPerJob - 1) / kDecodesPerJob;
  s.pending = unsigned(jobs);
  for (size_t j = 0; j < jobs; ++j) {
    const size_t from = n * j / jobs, to = n * (j + 1) / jobs;
    workers_->post(uint64_t(i), [&s, from, to](Decompressor& dec) -> Status {
      std::vector<uint8_t> scratch;
      for (size_t k = from; k < to; ++k) {
        const PlannedDecode& d = s.plan.decodes[k];
        const Extent& e = d.first;
        std::span<const uint8_t> in(s.side.data() + d.side_offset, e.csize);
        const auto& sl = d.slices.front();
        if (d.slices.size() == 1 && sl.skip == 0 && sl.length == e.cluster_size) {
          QF_TRY(decode_cluster(e, in, {s.data + sl.offset, e.cluster_size}, dec));
          continue;
        }
        scratch.resize(e.cluster_size);
        QF_TRY(decode_cluster(e, in, scratch, dec));
        for (const auto& x : d.slices) std::memcpy(s.data + x.offset, scratch.data() + x.skip, x.length);
      }
      return {};
    });
  }
}

// The chunk is staged: write it to every live target whose range it meets.
void Engine::ready(int i) {
  Slot& s = slots_[size_t(i)];
  const ChunkPlan& p = s.plan;
  s.pending = 0;
  uint64_t crc_from = 0, crc_len = 0;
  uint32_t crc = 0;
  for (size_t t = 0; t < targets_.size(); ++t) {
    TargetState& ts = targets_[t];
    if (!ts.live() || stopping_ || !error_.ok()) continue;
    const uint64_t a = std::max(p.guest, ts.wt->guest_start);
    const uint64_t b = std::min(p.guest + p.length, ts.end());
    if (a >= b) continue;
    if (options_.record_digest) {
      if (crc_len != b - a || crc_from != a) {
        crc_from = a;
        crc_len = b - a;
        crc = uint32_t(libdeflate_crc32(0, s.data + (a - p.guest), b - a));
      }
      ts.result->pieces.push_back({a - ts.wt->guest_start, b - a, crc});
    }
    const Target& tg = ts.wt->target;
    // Zeros are skipped where they read back as zeros anyway: holes in
    // regular files, and pre-zeroed devices with --sparse. Elsewhere the
    // device zeroes them itself where it can (no data crosses the bus).
    const bool skip_zeros = !tg.block_device || options_.sparse;
    uint64_t skipped = 0;
    for (const Span64& r : p.holes) {
      const uint64_t ra = std::max(a, p.guest + r.offset);
      const uint64_t rb = std::min(b, p.guest + r.offset + r.length);
      if (ra >= rb) continue;
      const uint64_t off = ra - ts.wt->guest_start;
      if (skip_zeros)
        skipped += rb - ra;
      else if (ts.use_zeroout && aligned(off, tg.logical_block) && aligned(rb - ra, tg.logical_block))
        queue_zero(i, int(t), off, rb - ra);
      else
        queue_write(i, int(t), s.data + (ra - p.guest), off, rb - ra);
    }
    for (const Span64& r : p.writes) {
      const uint64_t ra = std::max(a, p.guest + r.offset);
      const uint64_t rb = std::min(b, p.guest + r.offset + r.length);
      if (ra < rb) queue_write(i, int(t), s.data + (ra - p.guest), ra - ts.wt->guest_start, rb - ra);
    }
    ts.result->bytes += skipped;
    progress_[t].done = ts.result->bytes;
  }
  if (s.pending == 0) finish_slot(i);
}

// A write of target bytes [offset, +length) from `buf`: through the O_DIRECT
// descriptor where buffer, offset and length allow, the unaligned tail and
// everything else through the buffered one.
void Engine::queue_write(int slot, int t, uint8_t* buf, uint64_t offset, uint64_t length) {
  TargetState& ts = targets_[size_t(t)];
  const Target& tg = ts.wt->target;
  Op op{OpKind::Write};
  op.slot = slot;
  op.target = t;
  op.buf = buf;
  op.offset = offset;
  op.length = length;
  const uint32_t lb = tg.logical_block;
  if (ts.use_direct && aligned(uintptr_t(buf), lb) && aligned(offset, lb) && length >= lb) {
    const uint64_t tail = length & (lb - 1);
    op.length -= tail;
    op.fd = tg.direct.get();
    op.direct = true;
    ops_->add(op);
    ++slots_[size_t(slot)].pending;
    if (tail == 0) return;
    op.buf += op.length;
    op.offset += op.length;
    op.length = tail;
  }
  op.fd = tg.fd.get();
  op.direct = false;
  ops_->add(op);
  ++slots_[size_t(slot)].pending;
}

void Engine::queue_zero(int slot, int t, uint64_t offset, uint64_t length) {
  Op op{OpKind::Zero};
  op.slot = slot;
  op.target = t;
  op.fd = targets_[size_t(t)].wt->target.fd.get();
  op.offset = offset;
  op.length = length;
  ops_->add(op);
  ++slots_[size_t(slot)].pending;
}

void Engine::finish_slot(int i) {
  pool_->release(i);
  --busy_slots_;
}

void Engine::fail_target(int t, Error e, uint64_t at) {
  TargetState& ts = targets_[size_t(t)];
  // Writes in flight complete out of order: the report names the lowest
  // offset that failed, not the first failure to come back.
  if (at >= ts.failed_at) return;
  if (ts.live()) {
    ts.result->seconds = since(t0_);
    progress_[size_t(t)].failed = true;
  }
  ts.failed_at = at;
  e.kind = ErrorKind::Target;
  ts.result->status = std::move(e);
}

void Engine::fail_run(Error e) {
  if (error_.ok()) error_ = std::move(e);
}

// A write for a target dropped since it was queued is not issued, nor any
// write once the run is stopping (Ctrl-C then waits only for what is in
// flight); the chunk stops waiting for it.
bool Engine::drop(Op* op) {
  if (op->kind != OpKind::Write && op->kind != OpKind::Zero) return false;
  if (targets_[size_t(op->target)].live() && !stopping_) return false;
  ops_->release(op);
  if (--slots_[size_t(op->slot)].pending == 0) finish_slot(op->slot);
  return true;
}

Status Engine::complete_read(Op* op, int res) {
  if (res == -EAGAIN || res == -EINTR) res = 0;
  else if (res < 0)
    return io_error("read " + op->source->name() + " at " + std::to_string(op->offset + op->done), -res);
  else if (res == 0 && op->offset + op->done < op->eof)
    return io_error("read " + op->source->name() + " at " + std::to_string(op->offset + op->done), EIO);
  op->done += uint64_t(res);
  if (op->offset + op->done >= op->eof && op->done < op->length) {
    std::memset(op->buf + op->done, 0, op->length - op->done);  // past the end: zeros
    op->done = op->length;
  }
  return {};
}

void Engine::complete_write(Op* op, int res) {
  TargetState& ts = targets_[size_t(op->target)];
  auto where = [&] { return ts.wt->target.path + " at " + std::to_string(op->offset + op->done); };
  if (op->kind == OpKind::Zero) {
    if (res == 0) {
      op->done = op->length;
      ts.result->bytes += op->length;
      progress_[size_t(op->target)].done = ts.result->bytes;
    } else if (res == -EOPNOTSUPP || res == -EINVAL || res == -ENODEV) {
      // No zeroing on this device: write the zeros instead.
      ts.use_zeroout = false;
      op->kind = OpKind::Write;
      op->buf = zeros_->buffer(0).data();
      op->fd = ts.wt->target.fd.get();
    } else if (res != -EAGAIN && res != -EINTR) {
      fail_target(op->target, io_error("zero " + where(), -res), op->offset + op->done);
    }
    return;
  }
  if (res == -EINVAL && op->direct) {
    // The file system took O_DIRECT at open but refuses this write: go on buffered.
    ts.use_direct = false;
    op->fd = ts.wt->target.fd.get();
    op->direct = false;
    return;
  }
  if (res == -EAGAIN || res == -EINTR) return;
  if (res <= 0)
    return fail_target(op->target, io_error("write " + where(), res < 0 ? -res : ENOSPC),
                       op->offset + op->done);
  op->done += uint64_t(res);
  if (op->done == op->length) {
    ts.result->bytes += op->length;
    progress_[size_t(op->target)].done = ts.result->bytes;
  }
}

// Handles one completion; resubmits what is unfinished.
Status Engine::complete(Op* op, int res) {
  ops_->completed();
  if (op->kind == OpKind::Sync) {
    if (res < 0)
      fail_target(op->target,
                  io_error("flush " + targets_[size_t(op->target)].wt->target.path, -res),
                  kFlushFailure);
    ops_->release(op);
    return {};
  }
  if (op->kind == OpKind::Read) {
    if (auto st = complete_read(op, res); !st) {
      fail_run(st.take_error());
      op->done = op->length;
    }
  } else {
    complete_write(op, res);
    if (!targets_[size_t(op->target)].live()) op->done = op->length;
  }
  if (op->done < op->length) {
    ops_->retry(op);
    return {};
  }
  const int i = op->slot;
  const OpKind kind = op->kind;
  ops_->release(op);
  if (--slots_[size_t(i)].pending > 0) return {};
  if (kind != OpKind::Read) {
    finish_slot(i);
  } else if (error_.ok()) {
    reads_done(i);
  } else {
    finish_slot(i);
  }
  return {};
}

Status Engine::on_jobs() {
  io_uring_sqe* s = ring_->sqe();
  io_uring_prep_read(s, workers_->eventfd(), &event_value_, sizeof event_value_, 0);
  io_uring_sqe_set_data64(s, kEventTag);
  for (auto& d : workers_->take_done()) {
    const int i = int(d.tag);
    if (!d.status) fail_run(d.status.take_error());
    Slot& s = slots_[size_t(i)];
    if (--s.pending > 0) continue;
    if (!error_.ok())
      finish_slot(i);
    else if (s.decoding)
      ready(i);
    else
      reads_done(i);
  }
  return {};
}

void Engine::report_progress(bool force) {
  if (!options_.progress) return;
  const auto now = Clock::now();
  if (!force && now - last_progress_ < kProgressEvery) return;
  last_progress_ = now;
  options_.progress(progress_);
}

Status Engine::loop_once() {
  QF_TRY(ops_->submit([this](Op* op) { return drop(op); }));
  // Dropping writes may have finished the last chunk: then nothing is in
  // flight and waiting would never return.
  if (!busy()) return {};
  QF_ASSIGN(io_uring_cqe* cqe, ring_->wait());
  while (cqe) {
    const uint64_t tag = io_uring_cqe_get_data64(cqe);
    const int res = cqe->res;
    ring_->seen(cqe);
    if (tag == kEventTag)
      QF_TRY(on_jobs());
    else
      QF_TRY(complete(reinterpret_cast<Op*>(tag), res));
    cqe = ring_->peek();
  }
  report_progress(false);
  return {};
}

Status Engine::sync_targets() {
  for (size_t t = 0; t < targets_.size(); ++t) {
    if (!targets_[t].live()) continue;
    Op op{OpKind::Sync};
    op.target = int(t);
    op.fd = targets_[t].wt->target.fd.get();
    ops_->add(op);
  }
  while (busy()) QF_TRY(loop_once());
  return {};
}

Status Engine::run() {
  QF_TRY(setup());
  prepare_targets();
  next_ = next_covered(lo_);
  for (;;) {
    if (options_.stop && options_.stop->load() && !stopping_) {
      stopping_ = true;
      report_.interrupted = true;
    }
    const bool more = !stopping_ && error_.ok() && next_ < hi_;
    while (more && next_ < hi_ && busy_slots_ < slots_.size() && ops_->waiting() < ops_->depth()) {
      if (auto st = start_chunk(); !st) {
        fail_run(st.take_error());
        break;
      }
    }
    if (!busy() && !(error_.ok() && !stopping_ && next_ < hi_)) break;
    QF_TRY(loop_once());
  }
  if (!error_.ok()) {
    report_progress(true);  // how far each target got: the caller reports it
    return error_;
  }
  QF_TRY(sync_targets());
  for (size_t t = 0; t < targets_.size(); ++t) {
    if (targets_[t].live()) targets_[t].result->seconds = since(t0_);
    // Chunks finish decoding out of order; the digest reads in order.
    auto& pieces = targets_[t].result->pieces;
    std::sort(pieces.begin(), pieces.end(),
              [](const WrittenPiece& x, const WrittenPiece& y) { return x.offset < y.offset; });
  }
  report_progress(true);
  return {};
}

}  // namespace

Result<WriteReport> write_image(Chain& chain, std::vector<WriteTarget>& targets,
                                const WriteOptions& options) {
  const auto t0 = Clock::now();
  WriteReport report;
  report.targets.reserve(targets.size());
  {
    Engine engine(chain, targets, options, report);
    if (auto st = engine.run(); !st) return st.take_error();
  }
  report.seconds = since(t0);
  return report;
}

}  // namespace qflash
