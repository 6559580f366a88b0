// plan_chunk: what it takes to stage one chunk of guest space in a buffer,
// from the extents Chain::resolve gave for it. Data is read straight to its
// place in the chunk; compressed streams are read, coalesced, into a side
// buffer, each host cluster once, and decoded into the chunk; zeros are
// cleared. The plan also lists the non-zero runs, for sparse writes.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "engine/image/extent.h"

namespace qflash {

struct Span64 {
  uint64_t offset;  // in the chunk (or the side buffer)
  uint64_t length;
};

struct PlannedRead {
  const Source* source;
  uint64_t host;
  uint64_t length;
  bool to_side;     // into the side buffer, else into the chunk
  uint64_t offset;  // in that buffer
};

// One compressed host cluster and the slices of it the chunk uses.
struct PlannedDecode {
  Extent first;          // codec, source, host, csize, cluster_size (for errors too)
  uint64_t side_offset;  // of its stream in the side buffer
  struct Slice {
    uint32_t skip;
    uint64_t length;
    uint64_t offset;  // in the chunk
  };
  std::vector<Slice> slices;
};

struct ChunkPlan {
  uint64_t guest = 0;
  uint64_t length = 0;
  std::vector<Span64> zeros;  // every zero run (cleared in the buffer)
  std::vector<Span64> data;   // the complement of zeros
  // What a target gets: `holes` are the zero runs long enough to skip or
  // zero by the device; `writes`, the rest, shorter zero runs included, so a
  // fragmented chunk still goes out in few large writes.
  std::vector<Span64> holes, writes;
  std::vector<PlannedRead> reads;
  std::vector<PlannedDecode> decodes;
  // Bytes of the side buffer: at most the larger of `length` and the sum of
  // the chunk's compressed stream sizes (gaps read between streams are paid
  // for by what the streams leave of `length`).
  uint64_t side_bytes = 0;
  // Some extent comes from a source without a descriptor (e.g. HTTP): the
  // chunk's reads are then made on a worker with Source::read_at instead.
  bool needs_worker_read = false;

  bool all_zero() const { return data.empty(); }
};

// Zero runs shorter than this are written as zeros with their neighbours.
inline constexpr uint64_t kMinHole = 256 * 1024;

// Streams closer than this on the host are read as one (the gap is read
// too), while the gaps of a chunk add up to no more than its length leaves.
inline constexpr uint64_t kCoalesceGap = 64 * 1024;

// Fills `plan` (cleared first) for the chunk at `guest` from `extents`,
// which cover it in order.
void plan_chunk(uint64_t guest, uint64_t length, const std::vector<Extent>& extents, ChunkPlan& plan);

// All-zero runs in data that was read (raw images, allocated clusters full of
// zeros) count as zero ranges once they are at least this long and aligned:
// a device's zeroing and a file's holes work in whole blocks.
inline constexpr uint64_t kZeroRunGrain = 4096;

// The runs of `bytes` that are all zero, in order, each made of whole
// grains counted from the start of `bytes` (the last grain may be shorter
// where `bytes` ends).
std::vector<Span64> find_zero_runs(std::span<const uint8_t> bytes, uint64_t grain = kZeroRunGrain);

// Adds the all-zero runs found in the staged `data` runs of `plan` (whose
// bytes are `chunk`) to its zero runs, and plans holes and writes again.
// Only the runs listed in `scan` (offsets in the chunk) are looked at.
void add_zero_runs(ChunkPlan& plan, std::span<const uint8_t> chunk, const std::vector<Span64>& scan);

// Cuts the staged chunk's plan to its first `length` bytes (an image whose
// end was found inside the chunk); nothing if it is that short already.
void shorten_chunk(ChunkPlan& plan, uint64_t length);

}  // namespace qflash
