// write_image: streams the virtual disk (or a range of it per target) onto
// every target at once. The image is read and decoded once.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/chain/chain.h"
#include "io/target.h"

namespace qflash {

struct WriteTarget {
  Target target;
  uint64_t guest_start = 0;  // range of the virtual disk that goes to offset 0
  uint64_t length = 0;
};

struct TargetProgress {
  uint64_t done = 0;   // bytes of its range written
  uint64_t total = 0;
  bool failed = false;
};

struct WriteOptions {
  bool sparse = false;              // skip zero runs on block devices too
  bool record_digest = false;       // fill TargetResult::pieces, for --verify
  uint64_t memory = 256ull << 20;   // buffer pool bytes
  unsigned jobs = 0;                // decompression workers; 0: one per CPU
  unsigned queue_depth = 64;        // io_uring entries
  // Called from the writing thread, at most a few times a second.
  std::function<void(const std::vector<TargetProgress>&)> progress;
  const std::atomic<bool>* stop = nullptr;  // set by a signal handler
};

// A run written to a target and the CRC-32 (libdeflate_crc32) of its bytes;
// --verify reads the target back and compares, piece by piece.
struct WrittenPiece {
  uint64_t offset;  // in the target
  uint64_t length;
  uint32_t crc;
};

struct TargetResult {
  std::string path;
  uint64_t bytes = 0;     // of its range written and flushed
  double seconds = 0;
  Status status;          // why it was dropped, if it was
  std::vector<WrittenPiece> pieces;  // with WriteOptions::record_digest
};

struct WriteReport {
  std::vector<TargetResult> targets;
  double seconds = 0;
  bool interrupted = false;
};

// Errors in the image (a corrupt compressed cluster) fail the whole run;
// a target's failure drops that target and is reported in its result.
Result<WriteReport> write_image(Chain& chain, std::vector<WriteTarget>& targets,
                                const WriteOptions& options);

}  // namespace qflash
