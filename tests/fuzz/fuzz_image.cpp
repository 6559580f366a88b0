// Fuzz target: the L1/L2 walk over a whole image in memory: open, validate,
// map, and read every byte through the Reader. Bytes the map calls zeros
// must read as zeros.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

#include "engine/chain/map.h"
#include "engine/chain/reader.h"
#include "tests/support/memory_source.h"

namespace {

constexpr uint64_t kMaxRead = 8u << 20;  // bytes read per input, to keep runs fast
constexpr uint64_t kChunk = 1u << 20;

bool all_zero(std::span<const uint8_t> b) {
  return std::all_of(b.begin(), b.end(), [](uint8_t c) { return c == 0; });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace qflash;
  auto src = std::make_shared<test::MemorySource>(std::span<const uint8_t>(data, size));
  auto chain = Chain::open_alone(src);
  if (!chain || !chain->validate()) return 0;
  auto map = build_map(*chain);
  if (!map) return 0;
  (void)map_to_json(*map);
  std::string text;
  (void)map_to_text(*map, src->name(), text);

  Reader reader(*chain);
  std::vector<uint8_t> buf;
  uint64_t budget = kMaxRead;
  for (const MapEntry& e : *map) {
    // Read the start of each run, bounded, so big sparse images stay cheap.
    const uint64_t n = std::min({e.length, kChunk, budget});
    if (n == 0) break;
    budget -= n;
    buf.resize(n);
    if (!reader.read(buf, e.start)) return 0;
    if (e.zero && !e.data && !all_zero(buf)) std::abort();
  }
  return 0;
}
