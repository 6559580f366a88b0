// Stager: the engine's window of staged chunks. A fixed set of slots, each a
// pool buffer holding one chunk of guest space as it is staged (planned,
// read in place through the ring or by workers, decoded by workers) and then
// kept, ready, while targets write from it. Targets close together share a
// slot; a slot no target holds can be taken for another chunk, so a target
// that fell behind stages its chunk again instead of holding the others.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "engine/chain/chain.h"
#include "engine/write/buffer_pool.h"
#include "engine/write/op_queue.h"
#include "engine/write/planner.h"
#include "engine/write/worker_pool.h"
#include "io/base/sha256.h"

namespace qflash {

struct Slot {
  enum class State : uint8_t { Free, Staging, Ready };
  State state = State::Free;
  uint64_t index = 0;         // chunk number: guest offset / chunk size
  uint8_t* data = nullptr;    // its pool buffer, or the shared zeros
  ChunkPlan plan;
  std::vector<uint8_t> side;  // compressed streams
  unsigned pending = 0;       // reads or jobs outstanding while staging
  bool decoding = false;      // its worker jobs decode (else they read)
  unsigned users = 0;         // targets that hold it (claimed, writes pending)
  uint64_t last_use = 0;      // for ties when choosing a slot to take
  bool used = false;          // its pool buffer was written (its pages are in)
  // The digest of a target range starting at `digest_start` once it has
  // taken in this whole chunk: targets with the same start reuse it.
  std::optional<Sha256> digest;
  uint64_t digest_start = 0;
};

class Stager {
 public:
  // How much a chunk is still wanted by targets (smaller: sooner); used to
  // choose which ready slot nobody holds is taken for a new chunk.
  using Wanted = std::function<uint64_t(uint64_t index)>;

  // Buffers from `memory` (half for chunks, half for compressed streams);
  // `jobs` decoding workers; `ops` queues the reads.
  static Result<std::unique_ptr<Stager>> create(Chain& chain, uint64_t memory, unsigned jobs,
                                                unsigned queue_depth, OpQueue& ops);

  uint64_t chunk_size() const { return chunk_; }
  uint64_t chunks() const { return (chain_.size() + chunk_ - 1) / chunk_; }
  size_t slot_count() const { return slots_.size(); }
  Slot& slot(int i) { return slots_[size_t(i)]; }
  const uint8_t* zeros() const { return zeros_->buffer(0).data(); }
  uint64_t zeros_size() const { return zeros_->buffer_size(); }

  // The slot staging or holding chunk `index`, or -1.
  int find(uint64_t index) const;
  // Starts staging chunk `index` in a free slot or one nobody holds (the one
  // `wanted` ranks last). -1 to wait: every slot is held, or the source is
  // sequential and a few chunks already wait for its reader. An error if
  // planning fails (the image is bad).
  Result<int> stage(uint64_t index, const Wanted& wanted);

  // The eventfds of the workers, read through the ring by the engine.
  int decode_eventfd() const { return workers_->eventfd(); }
  int read_eventfd() const { return readers_ ? readers_->eventfd() : -1; }
  // A read of slot `op->slot` completed with `res`: done or resubmit. An
  // error is the image's (it fails the run).
  Status complete_read(Op* op, int res);
  // After the eventfd fired: finished worker jobs.
  Status take_jobs(bool readers);
  // Whether reads or jobs are outstanding.
  bool busy() const { return staging_ > 0; }

 private:
  Stager(Chain& chain, OpQueue& ops) : chain_(chain), ops_(ops) {}
  void reads_done(int i);
  void post_decodes(int i);
  void staged(int i);
  void failed(int i);

  Chain& chain_;
  OpQueue& ops_;
  uint64_t chunk_ = 0, clock_ = 0;
  std::unique_ptr<BufferPool> pool_, zeros_;
  std::vector<Slot> slots_;
  std::vector<Extent> extents_;
  std::unique_ptr<WorkerPool> workers_, readers_;
  unsigned staging_ = 0;
  bool sequential_ = false;  // a source best read in order, by one reader
  Status error_;
};

}  // namespace qflash
