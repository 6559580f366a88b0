// How deep to read ahead of a sequential stream, how large each range
// request is and how many run at once, from the measured link: a pure
// function of plain numbers, tested in memory. The goal is to keep the
// bandwidth-delay product in flight, with memory bounded by the budget.
#pragma once

#include <cstddef>
#include <cstdint>

namespace qflash {

struct LinkEstimate {
  // The least time to first byte seen: the round trip without the wait
  // behind other requests that the times measured under load include. 0
  // while unknown.
  double rtt_s = 0;
  double rate = 0;    // bytes/s delivered lately; 0 while unknown
};

// The rate assumed while none was measured yet (a fast LAN): a near link
// is then read ahead little, a far one deep.
inline constexpr double kAssumedRate = 1e9;

struct PipelineLimits {
  size_t chunk = size_t(1) << 20;  // the grid every range is aligned to
  uint64_t budget = 128ull << 20;  // bytes: chunks cached plus bytes in flight
  long max_transfers = 16;         // range requests (and connections) at once
  size_t max_request_chunks = 8;   // the largest range, in chunks
};

struct Pipeline {
  size_t ahead_chunks;    // read ahead of a sequential stream
  size_t request_chunks;  // chunks per range request
  long transfers;         // range requests in flight
};

// The bytes in flight follow the link: four times the bandwidth-delay
// product (the rate measured while too little was in flight understates
// the link, so this can grow by that factor each round), at least 8
// chunks, at most the budget; the rate is taken as kAssumedRate until
// measured, and while the round trip is unknown everything is the most.
// A sequential stream is read ahead twice that, at least 16 chunks, at most
// the budget (the chunks ahead are either in flight or cached, never both):
// a reader that only waits for the oldest of a few ranges in flight turns
// the pipeline into stop-and-go, and a near link needs no deep read-ahead
// (every buffer it holds is memory touched). Requests grow so that
// max_transfers of them cover the bytes in flight (fewer round trips on a
// far link), and as many run as cover it, at least 4.
Pipeline plan_pipeline(const LinkEstimate& link, const PipelineLimits& limits);

}  // namespace qflash
