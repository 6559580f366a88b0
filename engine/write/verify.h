// verify_target: reads a written target back and checks it against the
// CRC-32 of every piece the writer recorded (WriteOptions::record_digest).
// It reads the target the run wrote (a descriptor reopened from Target::fd,
// never the name again), bypassing the page cache (O_DIRECT, aligned chunks)
// where the target allows it, so the bytes checked are the ones on the device.
#pragma once

#include <atomic>
#include <optional>
#include <span>
#include <string>

#include "engine/write/mass_writer.h"

namespace qflash {

struct VerifyResult {
  // The first piece, in target order, whose bytes differ (or end early).
  std::optional<WrittenPiece> mismatch;
};

// I/O errors reading `target` come back as errors; differing bytes as a
// mismatch. `stop` (may be null) interrupts with ErrorKind::Interrupted.
Result<VerifyResult> verify_target(const Target& target, std::span<const WrittenPiece> pieces,
                                   const std::atomic<bool>* stop = nullptr);

}  // namespace qflash
