// The submit/complete loop behind WriteSession and write_image. One thread
// runs it over the ring: queue work (targets claim chunks, the stager reads
// them, ready chunks become writes) while the queue has room, submit once,
// wait for one completion, drain the rest without blocking. Workers
// (decoding, reads of sources without a descriptor) and other threads
// (add, close, the image digest) report through eventfds read in the same
// ring, so one wait covers everything.
#include "engine/write/mass_writer.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <thread>

#include "engine/write/op_queue.h"
#include "engine/write/staging.h"
#include "engine/write/target_writer.h"
#include "engine/write/uring.h"

namespace qflash {
namespace {

using Clock = std::chrono::steady_clock;

// Tags of the eventfd reads (an Op's address is never one of these).
constexpr uint64_t kDecodeTag = ~uint64_t(0);
constexpr uint64_t kReaderTag = ~uint64_t(1);
constexpr uint64_t kWakeTag = ~uint64_t(2);
constexpr uint64_t kHashTag = ~uint64_t(3);
constexpr auto kProgressEvery = std::chrono::milliseconds(200);
// The longest the loop sleeps without looking at the stop flag.
constexpr unsigned kWaitMs = 100;
// A target waiting for the source flushes what it took since its last
// flush once it is this much: the device (or the file system under a file
// or loop device, committing its allocations) then does at the run's pace,
// while it would wait anyway, what the last flush would do at the end.
constexpr uint64_t kFlushWhileIdle = 64u << 20;
// Chunks one target may hold at once: enough to keep reads ahead of its
// writes; fewer when many targets share the slots.
constexpr size_t kMaxClaims = 16;
// The image digest reads the top file in pieces this large.
constexpr size_t kDigestPiece = 1u << 20;

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

}  // namespace

class WriteSession::Impl {
 public:
  Impl(Chain& chain, const WriteOptions& options) : chain_(chain), options_(options) {}
  ~Impl();
  Status setup();
  size_t add(WriteTarget target);
  std::optional<Sha256::Digest> image_digest() {
    std::lock_guard lock(mu_);
    return image_digest_;
  }
  void close();
  Result<WriteReport> run();
  WriteTarget take_target(size_t id) { return targets_[id].take_target(); }

 private:
  using Phase = TargetWriter::Phase;
  void wake();
  void digest_image();
  void stop_digest();
  void note_reads_over();
  void join_new();
  void arm(int fd, uint64_t tag, uint64_t* into);
  bool winding() const { return stopping_ || !error_.ok(); }
  uint64_t wanted(uint64_t index) const;
  void find_end();
  void fit(TargetWriter& t);
  void too_small(TargetWriter& t);
  void feed();
  void claim(TargetWriter& t);
  void issue_ready(TargetWriter& t);
  void advance(TargetWriter& t);
  void release(TargetWriter& t, size_t claim);
  void chunk_done(TargetWriter& t, int slot);
  bool drop(Op* op);
  void complete(Op* op, int res);
  void fail_run(Error e);
  void report_progress(bool force);
  bool finished();
  Status loop_once();

  Chain& chain_;
  WriteOptions options_;
  WritePolicy policy_;

  // Shared with add(), close() and the digest thread.
  std::mutex mu_;
  std::deque<WriteTarget> incoming_;
  size_t ids_ = 0;
  bool closed_ = false;
  bool digest_done_ = false;
  // The top file takes its own digest as the run reads it (HTTP): the
  // digest thread finishes it once every chunk was staged once (reads_over_).
  bool own_digest_ = false, reads_over_ = false;
  std::condition_variable reads_cv_;
  std::optional<Sha256::Digest> image_digest_;
  Status digest_error_;
  Fd wake_;
  std::atomic<bool> quit_{false};
  std::thread digest_thread_;

  // The engine thread's own.
  std::unique_ptr<Ring> ring_;
  std::unique_ptr<OpQueue> ops_;
  std::unique_ptr<Stager> stager_;
  std::deque<TargetWriter> targets_;
  std::vector<std::shared_ptr<HeadBuffer>> heads_;
  std::vector<TargetProgress> progress_;
  size_t done_targets_ = 0, rotate_ = 0;
  std::vector<bool> staged_once_;  // chunks staged at least once
  size_t staged_count_ = 0;
  bool stopping_ = false, verdict_seen_ = false;
  // Where the virtual disk ends: chain_.size(), or for a stream whose size
  // is a bound, the end once a read found it.
  uint64_t image_end_ = 0;
  bool end_found_ = false;
  Status error_;
  uint64_t decode_value_ = 0, reader_value_ = 0, wake_value_ = 0, hash_value_ = 0;
  std::unique_ptr<WorkerPool> hasher_;
  Clock::time_point t0_ = Clock::now(), last_progress_;
  WriteReport report_;
};

WriteSession::Impl::~Impl() { stop_digest(); }

void WriteSession::Impl::stop_digest() {
  {
    std::lock_guard lock(mu_);
    quit_ = true;
  }
  reads_cv_.notify_all();
  if (digest_thread_.joinable()) digest_thread_.join();
}

// Once every chunk was staged once, or no target will stage more (all
// joined, each past its last chunk or dropped), the top file's own digest
// can be finished: what it still lacks, the run will not read.
void WriteSession::Impl::note_reads_over() {
  if (!own_digest_ || reads_over_) return;
  bool over = staged_count_ == staged_once_.size();
  if (!over) {
    std::lock_guard lock(mu_);
    over = closed_ && incoming_.empty();
    for (const auto& t : targets_) over = over && (!t.live() || t.next_index >= t.last_index);
  }
  if (!over) return;
  {
    std::lock_guard lock(mu_);
    reads_over_ = true;
  }
  reads_cv_.notify_all();
}

Status WriteSession::Impl::setup() {
  policy_ = {options_.sparse, options_.wipe_rest};
  image_end_ = chain_.size();
  end_found_ = !chain_.size_is_bound();
  wake_.reset(::eventfd(0, EFD_CLOEXEC));
  if (!wake_.valid()) return io_error("eventfd", errno);
  const unsigned depth = std::clamp(options_.queue_depth, 1u, 4096u);  // io_uring's limit is 32768
  QF_ASSIGN(auto ring, Ring::create(depth + 4));  // + the eventfd reads
  ring_ = std::make_unique<Ring>(std::move(ring));
  ops_ = std::make_unique<OpQueue>(*ring_, depth);
  QF_ASSIGN(stager_, Stager::create(chain_, options_.memory, options_.jobs, depth, *ops_));
  arm(stager_->decode_eventfd(), kDecodeTag, &decode_value_);
  if (stager_->read_eventfd() >= 0) arm(stager_->read_eventfd(), kReaderTag, &reader_value_);
  arm(wake_.get(), kWakeTag, &wake_value_);
  // Targets' digests are taken on one thread of their own, off the loop,
  // in the order chunks are issued (which is each target's guest order).
  QF_ASSIGN(hasher_, WorkerPool::create(1));
  arm(hasher_->eventfd(), kHashTag, &hash_value_);
  if (!options_.image_digest && !options_.image_sha256) {
    digest_done_ = true;
    return {};
  }
  // A decompressing stream is read in one pass: a second reader would
  // decode it again, and a pipe cannot be read twice. A compressed file
  // takes its file's digest as its passes read it; standard input has none.
  const Source& top = chain_.layer(0).source();
  own_digest_ = top.start_sha256();
  if (!own_digest_ && top.stream_info()) {
    if (options_.image_sha256)
      return usage(chain_.name() + ": --sha256 needs the image as a file or URL, not a pipe");
    digest_done_ = true;
    return {};
  }
  staged_once_.assign(size_t(stager_->chunks()), false);
  digest_thread_ = std::thread([this] { digest_image(); });
  return {};
}

void WriteSession::Impl::arm(int fd, uint64_t tag, uint64_t* into) {
  io_uring_sqe* s = ring_->sqe();
  io_uring_prep_read(s, fd, into, sizeof *into, 0);
  io_uring_sqe_set_data64(s, tag);
}

void WriteSession::Impl::wake() {
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_.get(), &one, sizeof one);
}

// The SHA-256 of the top image file: taken by the source as the run reads
// (HTTP, a compressed file) and finished once the reads are over, else read
// start to end beside the engine (its own reads follow the guest order, not
// the file's).
void WriteSession::Impl::digest_image() {
  const Source& src = chain_.layer(0).source();
  if (own_digest_) {
    {
      std::unique_lock lock(mu_);
      reads_cv_.wait(lock, [this] { return reads_over_ || quit_; });
    }
    auto own = src.finish_sha256(quit_);
    {
      std::lock_guard lock(mu_);
      digest_done_ = true;
      if (own)
        image_digest_ = *own;
      else
        digest_error_ = own.take_error();
    }
    wake();
    return;
  }
  std::vector<uint8_t> buf(kDigestPiece);
  Sha256 sha;
  Status st;
  for (uint64_t at = 0; at < src.size() && !quit_;) {
    const size_t n = size_t(std::min<uint64_t>(buf.size(), src.size() - at));
    auto got = src.read_at({buf.data(), n}, at);
    if (!got) {
      st = got.take_error();
      break;
    }
    if (*got == 0) {
      st = io_error("read " + src.name() + " at " + std::to_string(at) + " for its SHA-256", EIO);
      break;
    }
    sha.update({buf.data(), *got});
    at += *got;
  }
  {
    std::lock_guard lock(mu_);
    digest_done_ = true;
    if (quit_) st = Error{ErrorKind::Interrupted, "digest of " + src.name() + " not finished"};
    if (st) image_digest_ = sha.finish();
    else digest_error_ = st;
  }
  wake();
}

size_t WriteSession::Impl::add(WriteTarget target) {
  size_t id;
  {
    std::lock_guard lock(mu_);
    id = ids_++;
    incoming_.push_back(std::move(target));
  }
  wake();
  return id;
}

void WriteSession::Impl::close() {
  {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  wake();
}

// Targets added since the last look join the run (in id order).
void WriteSession::Impl::join_new() {
  std::deque<WriteTarget> fresh;
  {
    std::lock_guard lock(mu_);
    fresh.swap(incoming_);
  }
  for (auto& wt : fresh) {
    // Targets with the same start share the buffer of their first MiB.
    std::shared_ptr<HeadBuffer> head;
    for (auto& h : heads_)
      if (h->guest_start == wt.guest_start) head = h;
    if (!head) {
      head = std::make_shared<HeadBuffer>();
      head->guest_start = wt.guest_start;
      head->data = static_cast<uint8_t*>(std::aligned_alloc(4096, kHeadBytes));
      heads_.push_back(head);
    }
    const int id = int(targets_.size());
    const uint64_t total = wt.length;
    TargetWriter& t = targets_.emplace_back(id, std::move(wt), head, policy_);
    progress_.push_back({0, end_found_ ? total : 0, false});
    t.next_index = t.target().guest_start / stager_->chunk_size();
    if (!head->data) {
      t.fail(Error{ErrorKind::Io, "out of memory for the first MiB of " + t.target().target.path}, 0);
    } else if (t.end() > chain_.size() || t.end() < t.target().guest_start) {
      t.fail(usage("the range for " + t.target().target.path + " ends past the virtual disk"), 0);
    } else if (!error_.ok()) {
      // Nothing of it was touched: the run failed before it joined.
      t.fail(error_.error(), 0);
    } else if (!stopping_) {
      fit(t);
      if (t.live()) t.prepare(end_found_);
    }
  }
}

// A stream whose size is a bound: once a staged chunk holds its end, the
// virtual disk ends there for every target.
void WriteSession::Impl::find_end() {
  if (end_found_) return;
  const auto end = chain_.found_end();
  if (!end) return;
  end_found_ = true;
  image_end_ = *end;
  if (image_end_ == 0) return fail_run(corrupt(chain_.name() + ": the image is empty (its stream holds no byte)"));
  for (auto& t : targets_)
    if (t.live() && t.phase == Phase::Chunks) fit(t);
}

// A target that holds less than a stream whose size was not known up
// front takes no more chunks and ends as when the image fails (its first MiB
// zeroed, so what it got is not left bootable), then fails.
void WriteSession::Impl::too_small(TargetWriter& t) {
  t.unfit = Error{ErrorKind::Target, "the image does not fit on " + t.target().target.path +
                                         ": it goes on past the " + std::to_string(t.target().length) +
                                         " bytes the target holds"};
  t.last_index = t.next_index;
}

// The chunks target `t` takes: those of its range, the range cut at the
// image's end if that was found before it. While the end is not known, also
// the chunk just past its range: staged, it says whether the image goes on
// past the target (which then fails), or ends within its range.
void WriteSession::Impl::fit(TargetWriter& t) {
  const uint64_t chunk = stager_->chunk_size();
  const uint64_t start = t.target().guest_start;
  if (t.end() > image_end_) {
    if (start >= image_end_)
      return t.fail(Error{ErrorKind::Target, "the image ends at byte " + std::to_string(image_end_) +
                                                 ", before the range for " + t.target().target.path},
                    0);
    t.shorten(image_end_ - start);
  }
  if (!end_found_) {
    t.last_index = std::min(stager_->chunks(), t.end() / chunk + 1);
    return;
  }
  if (chain_.size_is_bound() && t.end() < image_end_) return too_small(t);
  progress_[size_t(t.id())].total = t.target().length;
  t.last_index = t.target().length ? (t.end() + chunk - 1) / chunk : t.next_index;
}

// How soon chunk `index` is wanted: the distance from the nearest target
// still to reach it; UINT64_MAX when no target will (it is behind them all).
uint64_t WriteSession::Impl::wanted(uint64_t index) const {
  uint64_t best = UINT64_MAX;
  for (const auto& t : targets_)
    if (t.live() && t.phase == Phase::Chunks && t.next_index <= index && index < t.last_index)
      best = std::min(best, index - t.next_index);
  return best;
}

void WriteSession::Impl::claim(TargetWriter& t) {
  size_t live = 0;
  for (const auto& x : targets_) live += x.live() && x.phase == Phase::Chunks;
  const size_t limit = std::clamp<size_t>(stager_->slot_count() / std::max<size_t>(1, live), 1, kMaxClaims);
  while (t.next_index < t.last_index && t.claims.size() < limit) {
    int i = stager_->find(t.next_index);
    if (i < 0) {
      auto staged = stager_->stage(t.next_index, [this](uint64_t c) { return wanted(c); });
      if (!staged) return fail_run(staged.take_error());
      i = *staged;
      if (i < 0) return;  // every slot is held: wait for one
      if (!staged_once_.empty() && !staged_once_[size_t(t.next_index)]) {
        staged_once_[size_t(t.next_index)] = true;
        ++staged_count_;
      }
    }
    ++stager_->slot(i).users;
    t.claims.push_back({i, t.next_index});
    ++t.next_index;
  }
}

// Queues the writes of the target's chunks that are ready, in order (its
// digest is taken in guest order).
void WriteSession::Impl::issue_ready(TargetWriter& t) {
  for (size_t c = 0; c < t.claims.size();) {
    auto& cl = t.claims[c];
    if (cl.issued) {
      ++c;
      continue;
    }
    Slot& s = stager_->slot(cl.slot);
    if (s.state != Slot::State::Ready) return;
    if (!t.unfit.ok()) return;
    if (!end_found_ && s.plan.guest + s.plan.length > t.end()) return too_small(t);
    cl.issued = true;
    cl.pending = t.issue(cl.slot, s, *ops_);
    if (options_.target_digests && t.meets(s)) {
      ++cl.pending;
      // The range's end as it is now: the engine thread may cut it (an end
      // found) while the hash thread works.
      hasher_->post(uint64_t(t.id()) << 32 | uint32_t(cl.slot),
                    [&t, &s, end = t.end()](Decompressor&) -> Status {
                      t.digest(s, end);
                      return {};
                    });
    }
    if (cl.pending == 0)
      release(t, c);
    else
      ++c;
  }
}

void WriteSession::Impl::release(TargetWriter& t, size_t c) {
  Slot& s = stager_->slot(t.claims[c].slot);
  --s.users;
  t.claims.erase(t.claims.begin() + ptrdiff_t(c));
}

// Moves a target on to its next phase once the current one has nothing in
// flight.
void WriteSession::Impl::advance(TargetWriter& t) {
  if (t.phase == Phase::Done) return;
  if (!t.live() || winding() || !t.unfit.ok()) {
    // Chunks not yet written are let go; writes in flight are waited for.
    for (size_t c = t.claims.size(); c-- > 0;)
      if (!t.claims[c].issued || t.claims[c].pending == 0) release(t, c);
  }
  if (!t.claims.empty() || t.inflight > 0) return;
  if (!t.live()) {
    t.phase = Phase::Done;
  } else if (t.phase == Phase::Chunks) {
    if (!winding() && t.next_index < t.last_index) return;
    if (!winding() && t.unfit.ok()) {
      if (options_.target_digests) t.finish_digest();
      t.issue_wipe(*ops_);
    }
    t.phase = Phase::Rest;
    if (t.inflight > 0) return;
  }
  if (t.phase == Phase::Rest) {
    // The first MiB goes out once the image proved good (what the run read
    // is checked, e.g. against a bmap's checksums, on threads of its own:
    // waited for here, a few MiB at most); a run that failed or stopped
    // zeroes it instead, so no target is left bootable.
    if (!winding() && t.unfit.ok())
      if (auto st = chain_.settle(); !st) fail_run(st.take_error());
    bool good = !winding() && t.unfit.ok();
    if (good && options_.image_sha256) {
      std::lock_guard lock(mu_);
      if (!digest_done_) return;  // woken when the digest is known
      good = image_digest_ && *image_digest_ == *options_.image_sha256;
    }
    t.issue_head(*ops_, good);
    t.phase = Phase::Head;
    t.head_good = good;
    if (t.inflight > 0) return;
  }
  if (t.phase == Phase::Head) {
    t.issue_sync(*ops_);
    t.phase = Phase::Sync;
    return;
  }
  if (t.phase == Phase::Sync) t.phase = Phase::Done;
  if (t.phase != Phase::Done) return;
  // Done: the result is final.
  TargetResult& r = t.result();
  if (r.status.ok() && !error_.ok() && !t.head_good) t.fail(error_.error(), 0);
  if (r.status.ok() && !t.unfit.ok()) t.fail(t.unfit.error(), t.target().length);
  if (r.status.ok()) r.seconds = since(t.joined);
  r.complete = r.status.ok() && t.head_good;
  if (!r.complete) r.sha256.reset();
  ++done_targets_;
  if (options_.on_target_done) options_.on_target_done(size_t(t.id()), r);
  if (options_.close_done_targets) t.take_target();  // the descriptors close here
}

void WriteSession::Impl::feed() {
  find_end();
  const size_t n = targets_.size();
  if (n == 0) return;
  // Targets take turns at the first claim, so a scarce slot goes round.
  rotate_ = (rotate_ + 1) % n;
  for (size_t k = 0; k < n; ++k) {
    TargetWriter& t = targets_[(rotate_ + k) % n];
    if (t.phase != Phase::Chunks) continue;
    // Chunks with nothing to write (holes in a file) are let go at once:
    // claim again until the target holds its share or waits for a slot.
    for (uint64_t before = UINT64_MAX; t.live() && !winding() && before != t.next_index;) {
      before = t.next_index;
      issue_ready(t);
      claim(t);
      issue_ready(t);
    }
    if (t.live() && !winding() && t.idle() && t.done() - t.flushed >= kFlushWhileIdle) {
      t.flushed = t.done();
      t.issue_sync(*ops_);
    }
  }
  for (auto& t : targets_) advance(t);
}

void WriteSession::Impl::fail_run(Error e) {
  // A source that saw the stop flag first (an HTTP read given up on it) is
  // the run stopping, not the image failing.
  if (e.kind == ErrorKind::Interrupted && options_.stop && options_.stop->load()) {
    stopping_ = true;
    report_.interrupted = true;
    return;
  }
  if (error_.ok()) error_ = std::move(e);
}

// A write for a target dropped since it was queued is not issued, nor a
// chunk's write once the run is winding down (Ctrl-C then waits only for
// what is in flight); the chunk stops waiting for it.
bool WriteSession::Impl::drop(Op* op) {
  if (op->kind == OpKind::Read || op->kind == OpKind::Sync) return false;
  TargetWriter& t = targets_[size_t(op->target)];
  if (t.live() && !(winding() && op->slot >= 0)) return false;
  complete(op, -ECANCELED);
  return true;
}

void WriteSession::Impl::complete(Op* op, int res) {
  if (op->kind == OpKind::Read) {
    if (auto st = stager_->complete_read(op, res); !st) fail_run(st.take_error());
    return;
  }
  TargetWriter& t = targets_[size_t(op->target)];
  if (res == -ECANCELED)
    op->done = op->length;
  else
    t.complete(op, res, stager_->zeros(), stager_->zeros_size());
  if (!t.live()) op->done = op->length;
  if (op->done < op->length) {
    ops_->retry(op);
    return;
  }
  const int slot = op->slot;
  ops_->release(op);
  if (slot < 0) {
    --t.inflight;
  } else {
    chunk_done(t, slot);
  }
}

// One write or digest job of the target's chunk in `slot` is done.
void WriteSession::Impl::chunk_done(TargetWriter& t, int slot) {
  for (size_t c = 0; c < t.claims.size(); ++c)
    if (t.claims[c].slot == slot) {
      if (--t.claims[c].pending == 0) release(t, c);
      break;
    }
}

void WriteSession::Impl::report_progress(bool force) {
  if (!options_.progress) return;
  const auto now = Clock::now();
  if (!force && now - last_progress_ < kProgressEvery) return;
  last_progress_ = now;
  for (size_t i = 0; i < targets_.size(); ++i) {
    progress_[i].done = targets_[i].done();
    if (progress_[i].total) progress_[i].done = std::min(progress_[i].done, progress_[i].total);
    progress_[i].failed = !targets_[i].live();
  }
  options_.progress(progress_);
}

bool WriteSession::Impl::finished() {
  if (done_targets_ < targets_.size() || stager_->busy() || !ops_->idle()) return false;
  std::lock_guard lock(mu_);
  if (!incoming_.empty()) return false;
  if (winding()) return true;
  // The report carries the image digest: wait for it unless the run ended.
  return closed_ && digest_done_;
}

Status WriteSession::Impl::loop_once() {
  QF_TRY(ops_->submit([this](Op* op) { return drop(op); }));
  QF_ASSIGN(io_uring_cqe* cqe, ring_->wait(kWaitMs));
  while (cqe) {
    const uint64_t tag = io_uring_cqe_get_data64(cqe);
    const int res = cqe->res;
    ring_->seen(cqe);
    if (tag == kDecodeTag || tag == kReaderTag) {
      const bool readers = tag == kReaderTag;
      arm(readers ? stager_->read_eventfd() : stager_->decode_eventfd(), tag,
          readers ? &reader_value_ : &decode_value_);
      if (auto st = stager_->take_jobs(readers); !st) fail_run(st.take_error());
    } else if (tag == kHashTag) {
      arm(hasher_->eventfd(), kHashTag, &hash_value_);
      for (auto& d : hasher_->take_done()) chunk_done(targets_[size_t(d.tag >> 32)], int(uint32_t(d.tag)));
    } else if (tag == kWakeTag) {
      arm(wake_.get(), kWakeTag, &wake_value_);
    } else {
      ops_->completed();
      complete(reinterpret_cast<Op*>(tag), res);
    }
    cqe = ring_->peek();
  }
  return {};
}

Result<WriteReport> WriteSession::Impl::run() {
  for (;;) {
    if (options_.stop && options_.stop->load() && !stopping_) {
      stopping_ = true;
      report_.interrupted = true;
    }
    join_new();
    {
      std::lock_guard lock(mu_);
      if (digest_done_ && !verdict_seen_) {
        verdict_seen_ = true;
        // A fault found by the digest's own pass over the image (a bmap
        // range that does not match, a stream cut short) is the image's,
        // whether or not a digest was asked for: the engine's reads of the
        // same bytes may come after and be taken as already checked.
        if (!digest_error_.ok() && (options_.image_sha256 ||
                                    digest_error_.error().kind != ErrorKind::Interrupted)) {
          fail_run(digest_error_.error());
        } else if (options_.image_sha256 && image_digest_ && *image_digest_ != *options_.image_sha256) {
          fail_run(Error{ErrorKind::Corrupt, "image " + chain_.name() + ": SHA-256 " +
                                                 Sha256::hex(*image_digest_) + " is not the expected " +
                                                 Sha256::hex(*options_.image_sha256)});
        }
      }
    }
    feed();
    note_reads_over();
    report_progress(false);
    if (finished()) break;
    QF_TRY(loop_once());
  }
  stop_digest();
  report_progress(true);
  {
    std::lock_guard lock(mu_);
    if (image_digest_) report_.image_sha256 = Sha256::hex(*image_digest_);
  }
  for (auto& t : targets_) report_.targets.push_back(t.result());
  report_.error = error_;
  report_.virtual_size = end_found_ ? image_end_ : 0;
  report_.seconds = since(t0_);
  return std::move(report_);
}

WriteSession::WriteSession(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
WriteSession::~WriteSession() = default;

Result<std::unique_ptr<WriteSession>> WriteSession::create(Chain& chain, const WriteOptions& options) {
  auto impl = std::make_unique<Impl>(chain, options);
  QF_TRY(impl->setup());
  return std::unique_ptr<WriteSession>(new WriteSession(std::move(impl)));
}

size_t WriteSession::add(WriteTarget target) { return impl_->add(std::move(target)); }
WriteTarget WriteSession::take_target(size_t id) { return impl_->take_target(id); }
void WriteSession::close() { impl_->close(); }
std::optional<Sha256::Digest> WriteSession::image_sha256() const { return impl_->image_digest(); }
Result<WriteReport> WriteSession::run() { return impl_->run(); }

Result<WriteReport> write_image(Chain& chain, std::vector<WriteTarget>& targets,
                                const WriteOptions& options) {
  for (const auto& t : targets)
    if (t.guest_start + t.length > chain.size() || t.guest_start + t.length < t.guest_start)
      return usage("a target's range ends past the virtual disk");
  QF_ASSIGN(auto session, WriteSession::create(chain, options));
  for (auto& t : targets) session->add(std::move(t));
  session->close();
  auto report = session->run();
  // The descriptors go back to the caller (to verify through them).
  for (size_t i = 0; i < targets.size(); ++i) targets[i] = session->take_target(i);
  return report;
}

}  // namespace qflash
