// Verification by read-back: a written target's range is read through a
// descriptor derived from the one it was written through (never reopened by
// name), bypassing the page cache where it can, and its SHA-256 compared
// with the one the engine recorded while writing (TargetResult::sha256).
#pragma once

#include <atomic>
#include <functional>
#include <optional>
#include <vector>

#include "engine/write/mass_writer.h"

namespace qflash {

// The SHA-256 of bytes [0, length) of `target`. Errors: I/O (named with the
// path and offset), the target ending early, or ErrorKind::Interrupted when
// `stop` (may be null) is set. `progress` (may be empty) is told the bytes
// read so far, every 4 MiB, on the calling thread.
Result<Sha256::Digest> target_sha256(const Target& target, uint64_t length,
                                     const std::atomic<bool>* stop = nullptr,
                                     const std::function<void(uint64_t)>& progress = {});

struct VerifyResult {
  bool checked = false;   // the target was read back (it was complete)
  Status status;          // ok: equal; else why not (differs, I/O, interrupted)
};

// Reads every complete target of `report` back, all at once (one thread per
// target: drives are independent), and compares digests. One result per
// target, in report order; targets that did not complete are not read.
std::vector<VerifyResult> verify_targets(const std::vector<WriteTarget>& targets,
                                         const WriteReport& report,
                                         const std::atomic<bool>* stop = nullptr);

}  // namespace qflash
