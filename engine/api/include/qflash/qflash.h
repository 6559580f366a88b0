/*
 * qflash.h - the public API of libqflash: write virtual disk images (QCOW2
 * with its backing chain, local or over HTTP(S)) onto block devices and
 * files, one image onto many targets at once.
 *
 * Link with `pkg-config --cflags --libs qflash` or, in CMake,
 * `find_package(qflash)` and `target_link_libraries(app PRIVATE qflash::qflash)`.
 * C++20.
 *
 * Conventions, for every function below:
 *
 *  - Errors are values. A function that can fail returns Result<T> (a T or an
 *    Error) or Status (Result<void>), declared in <qflash/error.h>. An Error
 *    has a kind (Usage: the caller asked for something impossible; Corrupt:
 *    the image breaks its format; Unsupported: a valid feature qflash does not
 *    implement; Io: the kernel or a server said no, `err` holds errno where
 *    there is one; Target: a target was refused or failed; Interrupted: the
 *    stop flag was set) and a one-line message that already names the file,
 *    offset or partition at fault. No exception crosses this API (except
 *    std::bad_alloc where memory runs out) and the library never prints: it
 *    logs only through the sink set with set_log_sink() (<qflash/log.h>).
 *  - Sizes and offsets are in bytes; rates are the caller's to compute.
 *  - Names (images, targets) are paths or, for images, http:// and https://
 *    URLs. Names in messages and reports never carry URL credentials.
 *  - Thread safety: an Image is used by one thread at a time (its reads share
 *    a decompressor and caches); different Images may be used from different
 *    threads. Free functions are thread-safe unless they say otherwise.
 *    Callbacks are called on a library thread and must not call back into
 *    the Image they report on.
 */
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "qflash/error.h"
#include "qflash/log.h"

namespace qflash {

/* The library's version, "MAJOR.MINOR.PATCH" (that of the shared library's
 * file name; its SONAME carries MAJOR). */
const char* version();

/* ---------------------------------------------------------------------------
 * Sizes for people
 * ------------------------------------------------------------------------ */

/* 1536 -> "1.5 KiB", 2147483648 -> "2 GiB" (powers of 1024, at most three
 * significant digits); below 1 KiB in bytes, "512 B". Never fails. */
std::string human_size(uint64_t bytes);

/* "4096", "64K", "1.5M", "2G", "1T", also "64KiB" and "64kB" (all powers of
 * 1024) -> bytes. A Usage error for anything else, a negative or fractional
 * byte count, or more than 2^63. */
Result<uint64_t> parse_size(const std::string& text);

/* ---------------------------------------------------------------------------
 * Opening an image
 * ------------------------------------------------------------------------ */

/* What may stand behind an image. */
enum class BackingPolicy {
  Follow,  // open the backing and external data files it names, as qemu does
  Refuse,  // refuse an image that names any (a Usage error naming the file)
};

struct OpenOptions {
  /* "Name: value" request headers sent with every HTTP request of an
   * http(s) image and its backing files (e.g. an Authorization token).
   * Values are never logged or put in messages. */
  std::vector<std::string> http_headers;
  BackingPolicy backing = BackingPolicy::Follow;
};

/* One file of an image's chain, top (the image named) first. */
struct ChainFile {
  std::string name;    // as resolved from the image that names it
  std::string format;  // "qcow2" or "raw"
  uint64_t size = 0;   // its virtual size
};

/* What `qflash info` prints. For a raw image the QCOW2 fields are 0 or empty. */
struct ImageInfo {
  std::string format;        // "qcow2" or "raw"
  unsigned version = 0;      // QCOW2 version, 2 or 3
  uint64_t virtual_size = 0;
  uint32_t cluster_size = 0;
  std::string compression;   // "deflate" or "zstd"
  unsigned refcount_bits = 0;
  std::vector<std::string> features;  // "dirty", "extended-l2", ... as qflash info names them
  std::optional<std::string> data_file;
  uint32_t snapshots = 0;
  std::vector<ChainFile> chain;
};

/* One run of the allocation map, with the meaning of `qemu-img map
 * --output=json`. */
struct MapRun {
  uint64_t start = 0;
  uint64_t length = 0;
  unsigned depth = 0;      // the chain file that decides these bytes
  bool present = false;    // that file holds them (else they read as zeros)
  bool zero = false;       // they read as zeros
  bool data = false;       // they are stored as data
  std::optional<uint64_t> offset;  // host offset, where qemu-img reports one
  std::string file;        // the file `offset` refers to
};

/* One partition of the virtual disk, numbered as Linux numbers it. */
struct PartitionInfo {
  unsigned number = 0;
  uint64_t offset = 0;        // bytes from the start of the virtual disk
  uint64_t length = 0;        // bytes
  uint64_t first_sector = 0;  // inclusive, in logical sectors
  uint64_t last_sector = 0;   // inclusive
  std::string type;           // GPT type GUID, or the MBR type byte as "0x83"
  std::string type_name;      // as fdisk names it; "" when unknown
  std::string name;           // GPT name in UTF-8; "" for MBR
  std::string guid;           // GPT unique GUID; MBR: the Linux PARTUUID
  bool bootable = false;      // MBR active flag
  bool extended = false;      // MBR extended partition (holds the logicals)
};

struct PartitionTableInfo {
  std::string kind = "none";  // "gpt", "mbr" or "none"
  uint32_t sector_size = 512;
  std::string disk_id;        // GPT disk GUID, or the MBR signature "0x1234abcd"
  std::vector<std::string> warnings;  // e.g. the backup GPT header was used
  std::vector<PartitionInfo> partitions;
};

struct FlashTarget;
struct FlashOptions;
struct FlashReport;

/* An image opened with its whole chain, every header checked. Move-only. */
class Image {
 public:
  /* Opens `name` (a path or an http(s) URL) and every backing and external
   * data file it names (names relative to the file that names them, as qemu
   * resolves them). Errors: Io (missing or unreadable file, HTTP failure,
   * no CA certificates for an https URL), Corrupt or Unsupported (the image
   * or a file of its chain; a URL scheme other than http and https), Usage
   * (a backing or data file with BackingPolicy::Refuse). */
  static Result<Image> open(const std::string& name, const OpenOptions& options = {});

  Image(Image&&) noexcept;
  Image& operator=(Image&&) noexcept;
  ~Image();

  /* The name as given (URL credentials removed) and the virtual size. */
  const std::string& name() const;
  uint64_t size() const;

  ImageInfo info() const;

  /* Reads and checks every table of every file of the chain (no data).
   * flash() does this before its first write; call it to refuse a bad image
   * early. Errors: Corrupt, Io. */
  Status validate();

  /* Fills `buf` with the virtual disk's bytes at `offset`, the bytes
   * `qemu-img convert -O raw` writes there. A range past size() is a Usage
   * error; Corrupt or Io where the image is damaged or unreadable. */
  Status read(std::span<uint8_t> buf, uint64_t offset);

  /* The allocation map of the whole virtual disk, merged as qemu-img merges it. */
  Result<std::vector<MapRun>> map();

  /* The partition table of the virtual disk (read through the image).
   * `mbr_sector_size` is 512 or 4096 for an MBR (which does not record it;
   * 0 means 512); a GPT is found and sized by its header whatever it says.
   * A disk without a table gives kind "none"; a damaged one a Corrupt error. */
  Result<PartitionTableInfo> partitions(uint32_t mbr_sector_size = 0);

 private:
  struct Impl;
  explicit Image(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  friend Result<FlashReport> flash(Image&, const std::vector<FlashTarget>&, const FlashOptions&);
  friend Status verify(Image&, const FlashTarget&, uint32_t, const std::atomic<bool>*);
  friend Status check_target(Image&, const FlashTarget&, uint32_t);
};

/* ---------------------------------------------------------------------------
 * Writing an image onto targets
 * ------------------------------------------------------------------------ */

/* A target and what it receives. */
struct FlashTarget {
  /* A regular file (created, or truncated to the size it receives; zero runs
   * become holes) or a block device (at least that large, not mounted, not
   * in use as swap or by another driver). */
  std::string path;
  /* 0: the whole virtual disk; N: partition N of the virtual disk, as
   * Image::partitions() numbers it. One run may mix both. */
  unsigned partition = 0;
};

/* Checks `target` before anything is asked or written, creating nothing: a
 * block device must hold what it receives (the virtual disk or the
 * partition) and be neither mounted (nor a partition of it), nor swap, nor
 * held by another driver; any other path must be a regular file or not
 * exist yet. OK, or a Target error naming the path and the reason (Usage
 * for a partition the image does not have). flash() makes the same checks
 * again when it opens the target. */
Status check_target(Image& image, const FlashTarget& target, uint32_t mbr_sector_size = 0);

/* How far one target is, passed to FlashOptions::progress. */
struct FlashProgress {
  uint64_t done = 0;   // bytes of its range written
  uint64_t total = 0;  // bytes of its range
  bool failed = false;
};

struct FlashOptions {
  /* Block devices are refused (a Target error, nothing written) unless the
   * caller has made sure they may be overwritten (asked the user). */
  bool allow_block_devices = false;
  /* Skip zero runs on block devices too (drives known to read as zeros). */
  bool sparse = false;
  /* After writing, read every good target back (bypassing the page cache
   * where it can) and compare its SHA-256 with that of what was written. */
  bool verify = false;
  /* Buffer memory of the engine (at least 1 MiB); decompression threads
   * (0: one per CPU); io_uring requests in flight. */
  uint64_t memory = 256ull << 20;
  unsigned jobs = 0;
  unsigned queue_depth = 64;
  /* Sector size of an MBR disk for FlashTarget::partition (0: 512). */
  uint32_t mbr_sector_size = 0;
  /* Called on the writing thread a few times a second, one entry per target
   * in the order given. May be empty. */
  std::function<void(std::span<const FlashProgress>)> progress;
  /* When it becomes true (e.g. from a signal watcher) the run stops: writes
   * in flight are drained, targets flushed, and the report says how far
   * each got. May be null. Owned by the caller; must outlive the call. */
  const std::atomic<bool>* stop = nullptr;
};

struct FlashTargetReport {
  std::string path;
  uint64_t guest_start = 0;  // the range of the virtual disk it receives
  uint64_t length = 0;
  uint64_t bytes = 0;        // of that range that reached the target (also when it failed)
  double seconds = 0;        // its own write time, verification not included
  Status status;             // why it failed (write, flush or verify), if it did
  bool interrupted = false;  // stopped before its end by the stop flag
  std::optional<bool> verified;  // with FlashOptions::verify: read back equal or not
};

struct FlashReport {
  std::vector<FlashTargetReport> targets;  // in the order given
  double seconds = 0;                      // the whole run, verification included
  bool interrupted = false;
  // The image's fault that ended the run after writing began (a corrupt
  // cluster, the source changed or truncated): every unfinished target is
  // failed with it, and `bytes` says what reached each.
  Status error;
};

/* Writes `image` onto every target at once: the image is read and decoded
 * once, each target written from the same buffers, O_DIRECT where it can.
 * Before the first byte: the chain is validated, the partitions chosen are
 * found, every target is opened and checked (size, block device allowed,
 * mounted or busy devices refused). A target that fails while writing
 * (EIO, ENOSPC, pulled) is reported in its FlashTargetReport and the others
 * go on. Returns an error (nothing written) when the image or a target is
 * refused before writing, or when the image fails mid-way (a corrupt
 * compressed cluster: Corrupt; the image changed while read: Io), in which
 * case the targets hold a partial image. Blocks until done; not reentrant
 * for the same Image. */
Result<FlashReport> flash(Image& image, const std::vector<FlashTarget>& targets,
                          const FlashOptions& options);

/* Compares `target` with the bytes it should hold (the whole virtual disk or
 * the partition) by reading both; OK when equal. A difference is a Target
 * error naming the first differing offset; Io when either cannot be read.
 * `stop` as in FlashOptions (may be null: Interrupted when set). */
Status verify(Image& image, const FlashTarget& target, uint32_t mbr_sector_size = 0,
              const std::atomic<bool>* stop = nullptr);

}  // namespace qflash
