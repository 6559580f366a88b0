// The write engine: streams the virtual disk (or a range of it per target)
// onto any number of targets, each at its own pace. Chunks are read and
// decoded once while targets are close together; a target that falls
// behind stages its chunks again rather than holding the others, so memory
// stays within WriteOptions::memory whatever the targets' number and speed.
//
// WriteSession runs the engine and takes targets while it runs (station
// mode); write_image is the one-shot wrapper (qflash write, qflash-mass).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/chain/chain.h"
#include "io/base/sha256.h"
#include "io/target.h"

namespace qflash {

struct WriteTarget {
  Target target;
  // Range of the virtual disk that goes to offset 0. For a stream whose size
  // is a bound (Chain::size_is_bound), `length` is what the target holds:
  // the range is cut where the stream ends, and the target fails if the
  // stream goes on past it.
  uint64_t guest_start = 0;
  uint64_t length = 0;
};

struct TargetProgress {
  uint64_t done = 0;   // bytes of its range written
  // Its range's length; 0 while the image's end is not found (a stream
  // whose size is a bound).
  uint64_t total = 0;
  bool failed = false;
};

struct TargetResult {
  std::string path;
  // Bytes of its range that reached the target (holes skipped on a file
  // count), also when it failed or the run stopped: what was overwritten.
  uint64_t bytes = 0;
  double seconds = 0;     // from joining to flushed (or failed)
  Status status;          // why it was dropped, if it was
  // SHA-256 of the raw bytes of its range, in order, as they were issued
  // (zero ranges included): set once every byte was issued and flushed,
  // with WriteOptions::target_digests.
  std::optional<Sha256::Digest> sha256;
  bool complete = false;  // every byte of its range reached it and was flushed
};

struct WriteOptions {
  bool sparse = false;              // skip zero runs on block devices too
  // Zero the part of a block device past the written range (device zeroing
  // where it can); with `sparse`, zero runs are then zeroed by the device
  // instead of skipped, so nothing of a previous owner is left.
  bool wipe_rest = false;
  uint64_t memory = 256ull << 20;   // buffer pool bytes
  unsigned jobs = 0;                // decompression workers; 0: one per CPU
  unsigned queue_depth = 64;        // io_uring entries
  // Whether to take each target's SHA-256 (TargetResult::sha256, what
  // verify_targets compares with) and the image file's (WriteReport::
  // image_sha256, always taken when `image_sha256` is set): for callers that
  // verify or report them; each costs a pass of SHA-256 over its bytes.
  bool target_digests = true;
  bool image_digest = true;
  // The published SHA-256 of the image file (the top image as read): the
  // first MiB of every target is written only once the file matched it, and
  // zeroed if it did not (the run then fails).
  std::optional<Sha256::Digest> image_sha256;
  // Called from the engine thread, at most a few times a second.
  std::function<void(const std::vector<TargetProgress>&)> progress;
  // Called on the engine thread once target `id` is flushed or has failed.
  std::function<void(size_t id, const TargetResult&)> on_target_done;
  // A session that runs for long (a station): each target's descriptors
  // are closed once it is done and reported, so a drive can go away (a loop
  // device detached, a device node freed); take_target() then gives none.
  bool close_done_targets = false;
  const std::atomic<bool>* stop = nullptr;  // set by a signal handler
};

struct WriteReport {
  std::vector<TargetResult> targets;  // by id, in the order they were added
  double seconds = 0;
  bool interrupted = false;
  // The SHA-256 of the image file as read, hex; empty if it could not be
  // read to its end (the run failed or stopped first) or was not asked for.
  std::string image_sha256;
  Status error;  // the image or run error that ended the run, if any
  // Bytes of the virtual disk: Chain::size(), or for a stream whose size is
  // a bound (SourceOptions::size_at_end), where the run found its end (each
  // target's range then cut there); 0 if no read reached that end.
  uint64_t virtual_size = 0;
};

class WriteSession {
 public:
  // Sets up pools, ring and workers for `chain` (which must outlive the
  // session); no target yet. Errors: io_uring refused, memory.
  static Result<std::unique_ptr<WriteSession>> create(Chain& chain, const WriteOptions& options);
  ~WriteSession();
  WriteSession(const WriteSession&) = delete;
  WriteSession& operator=(const WriteSession&) = delete;

  // Thread-safe, any time before close(): the target joins the running
  // engine and is written from its own beginning at its own pace. Returns
  // its id (index in the report and the progress vector). A target whose
  // range does not fit the virtual disk fails at once (usage error).
  size_t add(WriteTarget target);
  // Thread-safe: no more targets; run() returns once every added target
  // finished or failed.
  void close();
  // Runs the engine on the calling thread until close() and all targets are
  // done, or the stop flag is set, or the image fails (then report.error
  // says why and every unfinished target is failed with the bytes that
  // reached it). An error only if the engine itself cannot go on (the ring).
  Result<WriteReport> run();
  // After run(): target `id` back from the engine (its descriptors, to
  // verify through them); once only.
  WriteTarget take_target(size_t id);
  // Thread-safe: the SHA-256 of the image file once it was read to its end
  // (by the first target to take in every chunk), else nothing.
  std::optional<Sha256::Digest> image_sha256() const;

  class Impl;

 private:
  explicit WriteSession(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// One run onto `targets` (moved from): create, add each, close, run. Errors
// in the image (a corrupt compressed cluster) end the run with
// report.error set; a target's failure drops that target only. An error
// Result only for failures before any byte is written.
Result<WriteReport> write_image(Chain& chain, std::vector<WriteTarget>& targets,
                                const WriteOptions& options);

}  // namespace qflash
