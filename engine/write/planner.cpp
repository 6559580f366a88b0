#include "engine/write/planner.h"

#include <algorithm>
#include <unordered_map>

namespace qflash {
namespace {

void add_run(std::vector<Span64>& runs, uint64_t offset, uint64_t length) {
  if (!runs.empty() && runs.back().offset + runs.back().length == offset)
    runs.back().length += length;
  else
    runs.push_back({offset, length});
}

struct ClusterKey {
  const Source* source;
  uint64_t host;
  bool operator==(const ClusterKey&) const = default;
};
struct ClusterKeyHash {
  size_t operator()(const ClusterKey& k) const {
    return std::hash<uint64_t>()(k.host) ^ std::hash<const void*>()(k.source);
  }
};

}  // namespace

void plan_chunk(uint64_t guest, uint64_t length, const std::vector<Extent>& extents, ChunkPlan& plan) {
  plan.guest = guest;
  plan.length = length;
  plan.zeros.clear();
  plan.data.clear();
  plan.holes.clear();
  plan.writes.clear();
  plan.reads.clear();
  plan.decodes.clear();
  plan.side_bytes = 0;
  plan.needs_worker_read = false;
  std::unordered_map<ClusterKey, size_t, ClusterKeyHash> decode_of;

  for (const Extent& e : extents) {
    const uint64_t at = e.guest - guest;
    if (e.kind == Extent::Kind::Zero) {
      add_run(plan.zeros, at, e.length);
      continue;
    }
    add_run(plan.data, at, e.length);
    if (e.source->fd() < 0) plan.needs_worker_read = true;
    if (e.kind == Extent::Kind::Data) {
      plan.reads.push_back({e.source, e.host, e.length, false, at});
      continue;
    }
    // Each host cluster is decoded once, however its slices interleave with
    // others (found in O(1): a chunk of 512-byte clusters has thousands).
    auto [it, added] = decode_of.try_emplace(ClusterKey{e.source, e.host}, plan.decodes.size());
    if (added) plan.decodes.push_back({e, 0, {}});
    plan.decodes[it->second].slices.push_back({e.skip, e.length, at});
  }
  // A chunk that is all zeros is one hole however short (the disk's end).
  uint64_t at = 0;
  for (const Span64& z : plan.zeros) {
    if (z.length < kMinHole && z.length < length) continue;
    if (z.offset > at) plan.writes.push_back({at, z.offset - at});
    plan.holes.push_back(z);
    at = z.offset + z.length;
  }
  if (at < length) plan.writes.push_back({at, length - at});

  // Compressed streams sorted by host offset, then read as few ranges. The
  // gaps read with them come out of what the chunk's length leaves beyond
  // the streams themselves, so that sparse streams (512 bytes every 64 KiB)
  // never make a merged read much larger than the chunk it serves.
  std::vector<PlannedDecode*> order;
  uint64_t stream_bytes = 0;
  for (auto& d : plan.decodes) {
    order.push_back(&d);
    stream_bytes += d.first.csize;
  }
  uint64_t gap_budget = length > stream_bytes ? length - stream_bytes : 0;
  std::sort(order.begin(), order.end(), [](const PlannedDecode* a, const PlannedDecode* b) {
    return a->first.source != b->first.source ? a->first.source < b->first.source
                                              : a->first.host < b->first.host;
  });
  plan.reads.reserve(plan.reads.size() + order.size());  // keeps `run` valid
  PlannedRead* run = nullptr;
  for (PlannedDecode* d : order) {
    const Extent& e = d->first;
    const uint64_t run_end = run ? run->host + run->length : 0;
    const uint64_t gap = run && e.host > run_end ? e.host - run_end : 0;
    if (run && run->source == e.source && gap <= kCoalesceGap && gap <= gap_budget) {
      gap_budget -= gap;
      const uint64_t end = std::max(run_end, e.host + e.csize);
      plan.side_bytes += end - run_end;
      run->length = end - run->host;
    } else {
      plan.reads.push_back({e.source, e.host, e.csize, true, plan.side_bytes});
      plan.side_bytes += e.csize;
      run = &plan.reads.back();
    }
    d->side_offset = run->offset + (e.host - run->host);
  }
}

}  // namespace qflash
