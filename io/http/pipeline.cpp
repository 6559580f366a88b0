#include "io/http/pipeline.h"

#include <algorithm>

namespace qflash {

Pipeline plan_pipeline(const LinkEstimate& link, const PipelineLimits& limits) {
  const size_t chunk = std::max<size_t>(limits.chunk, 1);
  const size_t most = std::max<size_t>(size_t(limits.budget / chunk), 1);
  size_t flight = most, ahead = most;
  if (link.rtt_s > 0) {
    const double rate = link.rate > 0 ? link.rate : kAssumedRate;
    flight = std::clamp(size_t(4 * rate * link.rtt_s / double(chunk)) + 1, std::min<size_t>(8, most), most);
    ahead = std::clamp<size_t>(2 * flight, std::min<size_t>(16, most), most);
  }
  const size_t at_once = size_t(std::max<long>(limits.max_transfers, 1));
  size_t request = std::clamp<size_t>((flight + at_once - 1) / at_once, 1,
                                      std::max<size_t>(limits.max_request_chunks, 1));
  long transfers = long((flight + request - 1) / request);
  transfers = std::clamp<long>(transfers, std::min<long>(4, limits.max_transfers),
                               std::max<long>(limits.max_transfers, 1));
  return {ahead, request, transfers};
}

}  // namespace qflash
