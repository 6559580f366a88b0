#include "engine/write/planner.h"

#include <algorithm>
#include <cstring>
#include <iterator>
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

// Splits the chunk into holes (long zero runs) and writes (the rest).
void plan_holes(ChunkPlan& plan) {
  plan.holes.clear();
  plan.writes.clear();
  // A chunk that is all zeros is one hole however short (the disk's end).
  uint64_t at = 0;
  for (const Span64& z : plan.zeros) {
    if (z.length < kMinHole && z.length < plan.length) continue;
    if (z.offset > at) plan.writes.push_back({at, z.offset - at});
    plan.holes.push_back(z);
    at = z.offset + z.length;
  }
  if (at < plan.length) plan.writes.push_back({at, plan.length - at});
}

bool all_zero(const uint8_t* p, size_t n) {
  // Compare against the bytes themselves shifted by one: zero iff the
  // first byte is zero and every byte equals its neighbour (memcmp speed).
  return n == 0 || (p[0] == 0 && std::memcmp(p, p + 1, n - 1) == 0);
}

}  // namespace

std::vector<Span64> find_zero_runs(std::span<const uint8_t> bytes, uint64_t grain) {
  std::vector<Span64> runs;
  for (uint64_t at = 0; at < bytes.size(); at += grain) {
    const uint64_t n = std::min<uint64_t>(grain, bytes.size() - at);
    if (!all_zero(bytes.data() + at, size_t(n))) continue;
    if (!runs.empty() && runs.back().offset + runs.back().length == at)
      runs.back().length += n;
    else
      runs.push_back({at, n});
  }
  return runs;
}

void add_zero_runs(ChunkPlan& plan, std::span<const uint8_t> chunk, const std::vector<Span64>& scan) {
  std::vector<Span64> found;
  for (const Span64& r : scan) {
    // Runs start on the grain in the chunk, as devices count blocks from there.
    const uint64_t from = (r.offset + kZeroRunGrain - 1) / kZeroRunGrain * kZeroRunGrain;
    const uint64_t to = r.offset + r.length;
    if (from >= to) continue;
    for (const Span64& z : find_zero_runs(chunk.subspan(size_t(from), size_t(to - from))))
      if (z.length >= kZeroRunGrain || from + z.offset + z.length == plan.length)
        found.push_back({from + z.offset, z.length});
  }
  if (found.empty()) return;
  std::vector<Span64> merged;
  std::merge(plan.zeros.begin(), plan.zeros.end(), found.begin(), found.end(), std::back_inserter(merged),
             [](const Span64& a, const Span64& b) { return a.offset < b.offset; });
  plan.zeros.clear();
  for (const Span64& z : merged) add_run(plan.zeros, z.offset, z.length);
  plan_holes(plan);
}

void shorten_chunk(ChunkPlan& plan, uint64_t length) {
  if (length >= plan.length) return;
  auto clip = [length](std::vector<Span64>& runs) {
    std::erase_if(runs, [length](const Span64& r) { return r.offset >= length; });
    if (!runs.empty()) runs.back().length = std::min(runs.back().length, length - runs.back().offset);
  };
  plan.length = length;
  clip(plan.zeros);
  clip(plan.data);
  plan_holes(plan);
}

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
  plan_holes(plan);

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
