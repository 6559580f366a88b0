#include "engine/write/planner.h"

#include <algorithm>

namespace qflash {
namespace {

void add_run(std::vector<Span64>& runs, uint64_t offset, uint64_t length) {
  if (!runs.empty() && runs.back().offset + runs.back().length == offset)
    runs.back().length += length;
  else
    runs.push_back({offset, length});
}

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
    auto same = std::find_if(plan.decodes.begin(), plan.decodes.end(), [&](const PlannedDecode& d) {
      return d.first.source == e.source && d.first.host == e.host;
    });
    if (same == plan.decodes.end()) {
      plan.decodes.push_back({e, 0, {}});
      same = plan.decodes.end() - 1;
    }
    same->slices.push_back({e.skip, e.length, at});
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

  // Compressed streams sorted by host offset, then read as few ranges.
  std::vector<PlannedDecode*> order;
  for (auto& d : plan.decodes) order.push_back(&d);
  std::sort(order.begin(), order.end(), [](const PlannedDecode* a, const PlannedDecode* b) {
    return a->first.source != b->first.source ? a->first.source < b->first.source
                                              : a->first.host < b->first.host;
  });
  plan.reads.reserve(plan.reads.size() + order.size());  // keeps `run` valid
  PlannedRead* run = nullptr;
  for (PlannedDecode* d : order) {
    const Extent& e = d->first;
    if (run && run->source == e.source && e.host <= run->host + run->length + kCoalesceGap) {
      const uint64_t end = std::max(run->host + run->length, e.host + e.csize);
      plan.side_bytes += end - (run->host + run->length);
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
