// TargetWriter: how one target is written, whatever the engine around it:
// which descriptor a write goes through (O_DIRECT where buffer, offset and
// length allow, buffered for the rest and after the file system refuses
// it), how zero runs go out (skipped where they read back as zeros, zeroed
// by the device where it can, written as zeros otherwise), the digest of
// its bytes in guest order, its first MiB kept back until the end, its
// lowest failing offset, and the bytes that reached it.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>

#include "engine/write/mass_writer.h"
#include "engine/write/op_queue.h"
#include "engine/write/staging.h"
#include "io/base/sha256.h"

namespace qflash {

// The first bytes of a target range, kept back and written last, so that a
// target whose run failed never holds a partition table or boot code.
inline constexpr uint64_t kHeadBytes = 1u << 20;

// A buffer for the first MiB of every target range starting at one guest
// offset (targets with the same start share it: same bytes).
struct HeadBuffer {
  uint64_t guest_start = 0;
  uint8_t* data = nullptr;  // kHeadBytes, page-aligned (O_DIRECT)
  HeadBuffer() = default;
  HeadBuffer(const HeadBuffer&) = delete;
  HeadBuffer& operator=(const HeadBuffer&) = delete;
  ~HeadBuffer();
};

struct WritePolicy {
  bool sparse = false;
  bool wipe_rest = false;
};

class TargetWriter {
 public:
  // What the target is doing; each phase starts once the one before has
  // nothing in flight.
  enum class Phase : uint8_t {
    Chunks,  // writing its range chunk by chunk (first MiB held back)
    Rest,    // --wipe-rest: zeroing the device past its range
    Head,    // its first MiB: written (image good) or zeroed (it was not)
    Sync,    // fdatasync
    Done,
  };
  // A chunk the target holds: staged (or staging) in `slot`.
  struct Claim {
    int slot;
    uint64_t index;
    unsigned pending = 0;  // writes in flight from it
    bool issued = false;   // its writes were queued
  };

  TargetWriter(int id, WriteTarget target, std::shared_ptr<HeadBuffer> head, const WritePolicy& policy);

  int id() const { return id_; }
  const WriteTarget& target() const { return wt_; }
  WriteTarget take_target() { return std::move(wt_); }
  TargetResult& result() { return result_; }
  bool live() const { return result_.status.ok(); }
  uint64_t end() const { return wt_.guest_start + wt_.length; }
  uint64_t head_end() const { return wt_.guest_start + std::min(wt_.length, kHeadBytes); }

  Phase phase = Phase::Chunks;
  std::deque<Claim> claims;  // in chunk order
  uint64_t next_index = 0;   // the next chunk to claim
  uint64_t last_index = 0;   // its last chunk (exclusive)
  unsigned inflight = 0;     // writes not tied to a chunk (wipe, head) and flushes
  uint64_t flushed = 0;      // done() when its last flush was issued
  bool head_good = false;    // its first MiB was written (not zeroed)
  bool touched = false;      // prepare() ran: the run changed it
  Status unfit;              // the image goes on past what it holds: fails once its head is zeroed
  std::chrono::steady_clock::time_point joined;

  // Regular files start empty at their final size, so zero runs stay holes
  // (empty only while the image's size is not known: see shorten()).
  void prepare(bool size_known);
  // The image ends `length` bytes into its range (a stream whose size was
  // found at its end): the range stops there, and a regular file is made
  // that long.
  void shorten(uint64_t length);
  // Queues the writes of its part of the ready chunk in `slot` (keeping
  // back its first MiB); returns how many.
  unsigned issue(int slot_index, Slot& slot, OpQueue& ops);
  // Nothing of it in flight: each chunk it holds waits to be staged.
  bool idle() const {
    return inflight == 0 &&
           std::none_of(claims.begin(), claims.end(), [](const Claim& c) { return c.pending > 0; });
  }
  // Whether the chunk in `slot` has bytes of its range.
  bool meets(const Slot& s) const {
    return std::max(s.plan.guest, wt_.guest_start) < std::min(s.plan.guest + s.plan.length, end());
  }
  // Takes its part of the chunk, up to guest offset `end` (its range's end
  // when the chunk was issued), into its digest. Called for its chunks in
  // guest order, one at a time, on any one thread while the chunk is held;
  // reads nothing the engine thread changes meanwhile.
  void digest(Slot& slot, uint64_t end);
  // Queues the zeroing of the device past its range (--wipe-rest).
  void issue_wipe(OpQueue& ops);
  // Queues its first MiB: the bytes kept back, or zeros (`good` false).
  void issue_head(OpQueue& ops, bool good);
  void issue_sync(OpQueue& ops);
  // A write, zeroing or flush of this target completed with `res`: counts
  // the bytes, applies the fallbacks (the op is then resubmitted) or fails
  // the target. `zeros` is a buffer of `zeros_size` zero bytes.
  void complete(Op* op, int res, const uint8_t* zeros, uint64_t zeros_size);
  // Drops the target: the report names the lowest offset that failed.
  void fail(Error e, uint64_t at);
  // The digest of its range, once every byte was issued.
  void finish_digest();
  uint64_t done() const { return result_.bytes; }

 private:
  void queue_write(OpQueue& ops, int slot, const uint8_t* buf, uint64_t offset, uint64_t length);
  void queue_zero(OpQueue& ops, int slot, uint64_t offset, uint64_t length);

  int id_;
  WriteTarget wt_;
  TargetResult result_;
  std::shared_ptr<HeadBuffer> head_;
  WritePolicy policy_;
  bool use_direct_, use_zeroout_;
  uint64_t failed_at_ = UINT64_MAX;
  Sha256 digest_;
  uint64_t digested_ = 0;  // guest offset the digest has reached
  unsigned queued_ = 0;    // ops queued by the current issue()
};

// Where a failed flush ranks among a target's failures: after every write.
inline constexpr uint64_t kFlushFailure = UINT64_MAX - 1;

}  // namespace qflash
