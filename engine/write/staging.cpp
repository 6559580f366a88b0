#include "engine/write/staging.h"

#include <algorithm>
#include <cstring>

#include "engine/chain/reader.h"

namespace qflash {
namespace {

constexpr uint64_t kMaxChunk = 4u << 20;
constexpr uint64_t kMinChunk = 64u << 10;
// A compressed chunk is decoded as up to this many jobs, so that the
// workers share one chunk when few are in flight (small --memory).
constexpr size_t kDecodesPerJob = 16;
// Reads of a source without a descriptor (HTTP) go to reader threads in
// pieces this large, so one chunk has several reads in flight, as through
// the ring for a file.
constexpr uint64_t kWorkerReadPiece = 1u << 20;
// Chunks of a sequential source waiting for their reads at once: its one
// reader takes them in turn, so more would only touch more of the pool
// (each buffer's first use costs a page clearing) without reading sooner.
constexpr unsigned kSequentialStaging = 4;

}  // namespace

Result<std::unique_ptr<Stager>> Stager::create(Chain& chain, uint64_t memory, unsigned jobs,
                                               unsigned queue_depth, OpQueue& ops) {
  std::unique_ptr<Stager> s(new Stager(chain, ops));
  // Half the memory for chunk buffers, half for their compressed streams;
  // smaller chunks rather than fewer than four of them.
  memory = std::max<uint64_t>(memory, 2 * kMinChunk);
  s->chunk_ = kMaxChunk;
  while (s->chunk_ > kMinChunk && memory / (2 * s->chunk_) < 4) s->chunk_ /= 2;
  const size_t count = std::max<uint64_t>(2, memory / (2 * s->chunk_));
  QF_ASSIGN(auto pool, BufferPool::create(count, s->chunk_));
  s->pool_ = std::make_unique<BufferPool>(std::move(pool));
  QF_ASSIGN(auto zeros, BufferPool::create(1, s->chunk_));
  s->zeros_ = std::make_unique<BufferPool>(std::move(zeros));
  s->slots_.resize(count);
  for (size_t i = 0; i < count; ++i) s->slots_[i].data = s->pool_->buffer(int(i)).data();
  QF_ASSIGN(s->workers_, WorkerPool::create(jobs));
  bool remote = false, sequential = false;
  for (const Source* f : chain.files()) {
    remote |= f->fd() < 0;
    sequential |= f->sequential();
  }
  // A sequential source (a decompressing stream, a bmap-checked image) gets
  // one reader thread, which takes the reads in the order they were posted
  // (the guest order); HTTP ranges gain from several in flight.
  s->sequential_ = sequential;
  if (remote) {
    QF_ASSIGN(s->readers_,
              WorkerPool::create(sequential ? 1u : std::clamp(queue_depth / 4, 4u, 16u)));
  }
  return s;
}

int Stager::find(uint64_t index) const {
  for (size_t i = 0; i < slots_.size(); ++i)
    if (slots_[i].state != Slot::State::Free && slots_[i].index == index) return int(i);
  return -1;
}

Result<int> Stager::stage(uint64_t index, const Wanted& wanted) {
  if (sequential_ && staging_ >= kSequentialStaging) return -1;
  // A used free slot, else a ready one no target will want again, else one
  // never used (its pages are yet to be faulted in: the pool is touched
  // only as deep as the run needs it), else the ready one nobody holds that
  // is wanted last.
  int used_free = -1, unused_free = -1, ready = -1;
  uint64_t ready_want = 0, ready_use = 0;
  for (size_t i = 0; i < slots_.size(); ++i) {
    const Slot& s = slots_[i];
    if (s.users > 0 || s.state == Slot::State::Staging) continue;
    if (s.state == Slot::State::Free) {
      int& free = s.used ? used_free : unused_free;
      if (free < 0) free = int(i);
      continue;
    }
    const uint64_t w = wanted(s.index);
    if (ready < 0 || w > ready_want || (w == ready_want && s.last_use < ready_use)) {
      ready = int(i);
      ready_want = w;
      ready_use = s.last_use;
    }
  }
  int pick = used_free;
  if (pick < 0 && ready >= 0 && ready_want == UINT64_MAX) pick = ready;
  if (pick < 0) pick = unused_free;
  if (pick < 0) pick = ready;
  if (pick < 0) return -1;
  const int i = pick;
  Slot& s = slots_[size_t(i)];
  const uint64_t guest = index * chunk_;
  const uint64_t end = std::min(guest + chunk_, chain_.size());
  extents_.clear();
  s.state = Slot::State::Free;
  QF_TRY(chain_.resolve(guest, end - guest, extents_));
  s.state = Slot::State::Staging;
  s.index = index;
  s.last_use = ++clock_;
  s.digest.reset();
  s.decoding = false;
  ++staging_;
  plan_chunk(guest, end - guest, extents_, s.plan);
  if (s.plan.all_zero()) {
    staged(i);
    return i;
  }
  s.data = pool_->buffer(i).data();
  s.used = true;
  for (const Span64& z : s.plan.zeros) std::memset(s.data + z.offset, 0, z.length);
  s.side.resize(s.plan.side_bytes);
  if (s.plan.needs_worker_read) {
    s.pending = 0;
    for (const PlannedRead& r : s.plan.reads) {
      uint8_t* to = (r.to_side ? s.side.data() : s.data) + r.offset;
      for (uint64_t at = 0; at < r.length; at += kWorkerReadPiece) {
        const uint64_t n = std::min(kWorkerReadPiece, r.length - at);
        ++s.pending;
        readers_->post(uint64_t(i), [src = r.source, to, at, n, host = r.host](Decompressor&) {
          return src->read_padded({to + at, n}, host + at);
        });
      }
    }
    if (s.pending == 0) reads_done(i);
    return i;
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
    ops_.add(op);
  }
  s.pending = unsigned(s.plan.reads.size());
  if (s.pending == 0) reads_done(i);
  return i;
}

void Stager::reads_done(int i) {
  Slot& s = slots_[size_t(i)];
  // A stream whose end was not known when the chunk was planned: the
  // reads stopped there (padded with zeros), and so does the chunk.
  if (chain_.size_is_bound())
    if (auto end = chain_.found_end(); end && *end < s.plan.guest + s.plan.length)
      shorten_chunk(s.plan, *end > s.plan.guest ? *end - s.plan.guest : 0);
  if (s.plan.decodes.empty()) {
    // Data read as is (raw images, allocated clusters): its all-zero runs
    // become zero ranges like QCOW2 zero clusters. Scanning costs about a
    // memcmp of the chunk, far below reading it.
    std::vector<Span64> scan;
    for (const PlannedRead& r : s.plan.reads)
      if (!r.to_side && r.offset < s.plan.length)
        scan.push_back({r.offset, std::min(r.length, s.plan.length - r.offset)});
    add_zero_runs(s.plan, {s.data, s.plan.length}, scan);
    staged(i);
  } else {
    post_decodes(i);
  }
}

void Stager::post_decodes(int i) {
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

void Stager::staged(int i) {
  Slot& s = slots_[size_t(i)];
  if (s.plan.all_zero()) s.data = const_cast<uint8_t*>(zeros());
  s.state = Slot::State::Ready;
  --staging_;
}

// A slot whose staging failed holds nothing; the run ends on the error.
void Stager::failed(int i) {
  slots_[size_t(i)].state = Slot::State::Free;
  --staging_;
}

Status Stager::complete_read(Op* op, int res) {
  Status st;
  if (res == -EAGAIN || res == -EINTR) {
    res = 0;
  } else if (res < 0) {
    st = io_error("read " + op->source->name() + " at " + std::to_string(op->offset + op->done), -res);
  } else if (res == 0 && op->offset + op->done < op->eof) {
    st = io_error("read " + op->source->name() + " at " + std::to_string(op->offset + op->done), EIO);
  }
  if (!st) {
    if (error_.ok()) error_ = st;
    op->done = op->length;
  } else {
    op->done += uint64_t(res);
    if (op->offset + op->done >= op->eof && op->done < op->length) {
      std::memset(op->buf + op->done, 0, op->length - op->done);  // past the end: zeros
      op->done = op->length;
    }
  }
  if (op->done < op->length) {
    ops_.retry(op);
    return st;
  }
  const int i = op->slot;
  ops_.release(op);
  Slot& s = slots_[size_t(i)];
  if (--s.pending > 0) return st;
  if (!error_.ok())
    failed(i);
  else
    reads_done(i);
  return st;
}

Status Stager::take_jobs(bool readers) {
  Status first;
  for (auto& d : (readers ? readers_ : workers_)->take_done()) {
    const int i = int(d.tag);
    if (!d.status) {
      if (error_.ok()) error_ = d.status;
      if (first.ok()) first = d.status;
    }
    Slot& s = slots_[size_t(i)];
    if (--s.pending > 0) continue;
    if (!error_.ok())
      failed(i);
    else if (s.decoding)
      staged(i);
    else
      reads_done(i);
  }
  return first;
}

}  // namespace qflash
