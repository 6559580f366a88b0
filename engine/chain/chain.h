// Chain: an image and its backing files, top (depth 0) to base, opened and
// checked; resolves guest ranges into Extents through all of them.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/image/extent.h"
#include "engine/image/layer.h"

namespace qflash {

inline constexpr size_t kMaxChainDepth = 64;

// How --memory is shared between the engine's buffers (WriteOptions::memory)
// and the caches of the image's files (SourceOptions::cache_bytes for
// Chain::open), which come besides. A local image's caches (L2 tables): a
// quarter of `memory`, 16 to 48 MiB. An image over HTTP reads ahead into
// its chunk cache, which must cover a far link's bandwidth-delay product:
// half of `memory`, at least 8 MiB. The engine keeps all of `memory` (with
// several targets, fewer buffers would make a target that falls behind
// fetch its chunks again).
struct MemoryShares {
  uint64_t engine = 0;  // bytes
  uint64_t caches = 0;  // bytes
};
MemoryShares share_memory(uint64_t memory, const std::string& image);

class Chain {
 public:
  // Opens `name` and every backing file it names (relative names against
  // the referring image). Refuses loops, depth > 64 and missing files.
  // options.cache_bytes is divided between the files of the chain: three
  // quarters for the sources' own caches (HTTP read-ahead wants the most),
  // the top image's source taking half of that and each backing file half
  // of what the one above it took; a quarter for the L2 caches, in equal
  // shares once the depth is known.
  static Result<Chain> open(const std::string& name, const SourceOptions& options = {});
  // One image already open (e.g. in memory, for the fuzzers) that needs no
  // other file: one naming a backing or external data file is refused.
  static Result<Chain> open_alone(SourcePtr image);

  uint64_t size() const { return layers_.front()->size(); }
  // A raw stream opened with SourceOptions::size_at_end: size() is then
  // kSizeBound, and found_end() the end of the virtual disk once a read
  // reached the stream's end (rounded up to 512 bytes, as size() is).
  bool size_is_bound() const { return layers_.front()->source().size_is_bound(); }
  std::optional<uint64_t> found_end() const;
  const std::string& name() const { return layers_.front()->source().name(); }
  size_t depth() const { return layers_.size(); }
  Layer& layer(size_t depth) const { return *layers_[depth]; }
  // Every file the chain reads (images and external data files).
  std::vector<const Source*> files() const;

  // Checks every table of every layer; run before the first byte is written.
  Status validate();
  // Whether any file of the chain changed since it was opened; run after
  // the last byte is read.
  Status check_unchanged() const;
  // Source::settle() of every file: the checks of the bytes read so far.
  Status settle() const;

  // Appends extents covering [guest, guest + length) in order; neighbours of
  // the same kind and contiguous on the host are merged.
  Status resolve(uint64_t guest, uint64_t length, std::vector<Extent>& out);

 private:
  static Result<Chain> open_chain(const std::string& name, const SourceOptions& options);
  Status validate_layers();
  Status resolve_at(size_t depth, uint64_t guest, uint64_t length, std::vector<Extent>& out);

  std::vector<std::unique_ptr<Layer>> layers_;
};

}  // namespace qflash
