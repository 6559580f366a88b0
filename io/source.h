// Source: random-access, read-only bytes of an image file, local or remote.
// open_source() picks the implementation from the name (path or URL).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "io/base/error.h"
#include "io/base/sha256.h"

namespace qflash {

class Source {
 public:
  virtual ~Source() = default;

  // Reads up to buf.size() bytes at `offset`; fewer only at end of file.
  // Safe to call from several threads at once.
  virtual Result<size_t> read_at(std::span<uint8_t> buf, uint64_t offset) const = 0;
  virtual uint64_t size() const = 0;
  // As given by the user (for messages); never contains credentials.
  virtual const std::string& name() const = 0;
  // A descriptor the io_uring engine may read with directly, or -1.
  virtual int fd() const { return -1; }
  // Identity of the underlying file, to refuse writing onto our own input.
  virtual bool same_file(dev_t, ino_t) const { return false; }
  // A key equal for two sources of the same file (device and inode, or URL),
  // to find loops in backing chains.
  virtual std::string identity() const { return name(); }
  // The name of a file referenced from this one (a backing file), resolved
  // against this source's location: a directory for paths, a URL for URLs.
  virtual std::string resolve(const std::string& reference) const = 0;
  // Data/hole ranges, for qemu-img map's view of raw files: the first offset
  // >= `offset` holding data (SEEK_DATA), or size() if none; -1 if unknown.
  virtual int64_t next_data(uint64_t offset) const { return int64_t(offset); }
  virtual int64_t next_hole(uint64_t) const { return int64_t(size()); }
  // Bytes the file occupies on disk (st_blocks * 512), or -1 if unknown; qemu
  // uses it to detect metadata preallocation.
  virtual int64_t allocated_size() const { return -1; }

  // An error if the file was changed (written, truncated) since it was
  // opened: what was read may mix old and new bytes. Checked after a run.
  virtual Status check_unchanged() const { return {}; }

  // For the decoded bytes of a compressed stream (io/stream/): what it is.
  struct StreamInfo {
    std::string compression;    // "gzip", "xz", "zstd", "bzip2"; "none" for raw stdin
    int64_t compressed_size;    // bytes of the stream, -1 if unknown (stdin)
    std::string size_from;      // where size() comes from: "xz index", "zstd frame headers",
                                // "decoded once to count", "bmap", "--image-size"
  };
  virtual const StreamInfo* stream_info() const { return nullptr; }
  // Whether reads are best made by one reader in offset order: a stream is
  // decoded in order (a read behind its window decodes it again from the
  // start), a checked source hashes its ranges in order (reads ahead of the
  // hash are copied and kept).
  virtual bool sequential() const { return stream_info() != nullptr; }

  // The SHA-256 of the whole file, taken by a source that sees its bytes go
  // by as it fetches them for the run (HTTP), sparing a second download.
  // start_sha256() asks it to (false: it cannot; read the file instead).
  // finish_sha256() fetches what the run did not read and returns the
  // digest; call it once the run's reads are over (earlier, it reads ahead
  // of them), and only after start_sha256() said true. An error if
  // fetching failed, or (ErrorKind::Interrupted) once `cancel` was set.
  virtual bool start_sha256() const { return false; }
  virtual Result<Sha256::Digest> finish_sha256(const std::atomic<bool>& cancel) const {
    (void)cancel;
    return unsupported(name() + ": no digest taken while reading");
  }

  // Waits until every check of the bytes read so far is done (a source that
  // verifies them on a thread of its own, as a bmap's range checksums) and
  // returns the first that failed. Call before taking what was read as
  // good; later reads may be checked again by a later call.
  virtual Status settle() const { return {}; }

  // A stream opened to find its size at its end (SourceOptions::size_at_end)
  // has size() == kSizeBound, a bound only. found_end() is where it ended,
  // once a read reached that end (reads there and past it are short); empty
  // until then, and for every other source.
  virtual bool size_is_bound() const { return false; }
  virtual std::optional<uint64_t> found_end() const { return std::nullopt; }

  // read_at until full; bytes past the end of the source read as zeros
  // (as qemu does for a compressed cluster that ends the file).
  Status read_padded(std::span<uint8_t> buf, uint64_t offset) const;
  // read_at until full; the end of the source inside the range is an error.
  Status read_exact(std::span<uint8_t> buf, uint64_t offset) const;
};

using SourcePtr = std::shared_ptr<const Source>;

// Which other files an image may make us open (backing and external data
// files): an image from elsewhere must not copy station files or disks onto
// the targets. Defaults are the safe ones; each field is a command-line option.
struct ReferencePolicy {
  bool refuse_all = false;    // --no-backing: no backing or data file at all
  bool allow_devices = false;  // --allow-device-backing: block devices too
  // Trees where a local image's backing and data files may lie: each
  // --backing-dir DIR; Chain::open adds the directory of the image it opens.
  std::vector<std::string> dirs;
};

// The size a stream opened with SourceOptions::size_at_end takes until its
// end is found: 16 TiB, the largest file ext4 holds; a stream that goes on
// past it fails.
inline constexpr uint64_t kSizeBound = 16ull << 40;

// Cache a chain keeps when nobody sets a budget (cf. share_memory).
inline constexpr uint64_t kDefaultCacheBytes = 64u << 20;

// The home origin of a chain whose top image is a local file.
inline constexpr const char* kLocalOrigin = "local";

struct SourceOptions {
  std::vector<std::string> http_headers;  // "Name: value", sent with every request to home_origin
  // HTTP origins ("scheme://host:port", url.h's url_origin form). Headers,
  // URL credentials and netrc go only to `home_origin`, the origin of the
  // image the user named (empty: the origin of the URL being opened;
  // Chain::open sets it from the top image, kLocalOrigin for a local file:
  // no headers anywhere, every URL an other origin). Another origin, reached by a
  // redirect or named as a backing or data file, is refused unless listed in
  // `allowed_origins`, and gets no headers or credentials even then.
  std::string home_origin;
  std::vector<std::string> allowed_origins;
  bool netrc = false;      // credentials for home_origin from a netrc file
  std::string netrc_file;  // that file; empty: ~/.netrc
  std::string proxy;       // empty: http_proxy/https_proxy/no_proxy from the environment
  // Bytes of cache one Source may keep (HTTP: its chunk cache plus
  // read-ahead). Given to Chain::open, it is the budget of the whole chain,
  // which hands each file its share (caches of L2 tables included).
  uint64_t cache_bytes = kDefaultCacheBytes;
  // Set (by a signal handler): HTTP transfers and their retries end at once.
  const std::atomic<bool>* stop = nullptr;
  // Raw images (engine/bmap): the bmap file to use ("" finds IMAGE.bmap
  // beside a local image, as bmaptool does), or none with `no_bmap`.
  std::string bmap;
  bool no_bmap = false;
  // The decoded size of a stream that cannot say it before its end (raw or
  // gzip/xz/bzip2 on standard input); 0: unknown. Checked against the stream.
  uint64_t image_size = 0;
  // Such a stream (or any raw stream of a file without its size: bzip2,
  // gzip) is not decoded once to count its bytes, nor refused on a pipe:
  // it is opened with kSizeBound as its size and its reader finds the end
  // (Source::found_end). For a run that writes in one pass (qflash write).
  bool size_at_end = false;
  // Threads that decode a compressed raw stream (xz, bzip2); 0: one per CPU.
  unsigned decode_threads = 0;
  // Which backing and data files an image may name (open_reference).
  ReferencePolicy references;
};

// A local file or block device, or an http(s):// URL.
Result<SourcePtr> open_source(const std::string& name, const SourceOptions& options = {});

bool is_url(const std::string& name);

// A local file or block device, opened read-only.
Result<SourcePtr> open_file_source(const std::string& path);

// A file an image names (`what`: "backing file" or "external data file";
// `name` already resolved against `referrer`), opened under
// options.references. An http(s) image opens only URLs; a local image only
// regular files (block devices with allow_devices) whose real path lies in
// one of options.references.dirs. FIFOs, sockets and character devices are
// refused without being opened. A refusal is an ErrorKind::Usage error of
// one line naming the file and the option that would allow it.
Result<SourcePtr> open_reference(const Source& referrer, const std::string& what,
                                 const std::string& name, const SourceOptions& options);

}  // namespace qflash
