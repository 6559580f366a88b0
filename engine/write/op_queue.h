// OpQueue: the engine's I/O operations (reads, writes, device zeroing,
// flushes) on one Ring. At most `depth` are in flight; the rest wait in a
// backlog, and an operation that completed short goes back to its front
// for the rest. Op storage is reused, so a long run allocates nothing.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <vector>

#include "engine/write/uring.h"
#include "io/source.h"

namespace qflash {

enum class OpKind : uint8_t { Read, Write, Zero, Sync };

struct Op {
  OpKind kind;
  int slot = -1;    // Read, Write, Zero: the chunk it belongs to
  int target = -1;  // Write, Zero, Sync
  int fd = -1;
  bool direct = false;  // Write: through the O_DIRECT descriptor
  uint8_t* buf = nullptr;
  uint64_t offset = 0;  // in the file
  uint64_t length = 0;
  uint64_t done = 0;    // bytes completed; the next submission starts there
  uint64_t eof = 0;     // Read: the source's size; bytes past it read as zeros
  // Write: `buf` holds this many zero bytes, written again for each piece of
  // a longer range (zeroing without a device command); 0 otherwise.
  uint64_t repeat = 0;
  const Source* source = nullptr;
};

class OpQueue {
 public:
  OpQueue(Ring& ring, unsigned depth) : ring_(ring), depth_(depth) {}

  void add(const Op& op);
  // After a short completion: the rest is submitted before anything else.
  void retry(Op* op) { backlog_.push_front(op); }
  // After the last completion: the Op may be reused.
  void release(Op* op) { free_.push_back(op); }
  // Submits from the backlog while fewer than `depth` are in flight. An op
  // for which `drop` says true is not submitted (and `drop` owns it then).
  Status submit(const std::function<bool(Op*)>& drop);
  // Called for each completion the ring delivers for an Op.
  void completed() { --inflight_; }

  bool idle() const { return inflight_ == 0 && backlog_.empty(); }
  size_t waiting() const { return backlog_.size(); }
  unsigned depth() const { return depth_; }

 private:
  Ring& ring_;
  unsigned depth_;
  unsigned inflight_ = 0;
  std::deque<Op> store_;  // stable addresses
  std::vector<Op*> free_;
  std::deque<Op*> backlog_;
};

}  // namespace qflash
