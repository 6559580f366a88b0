// The cluster lookup: Chain::resolve over a whole compressed image in the
// engine's 4 MiB chunks (L1/L2 walk, L2 cache, extent merging).
#include <benchmark/benchmark.h>

#include "bench/corpus.h"

namespace qflash::bench {
namespace {

void BM_Resolve(benchmark::State& state) {
  static Corpus c512("zstd", 512, 32), c64k("zstd", 65536, 32);
  const Corpus& c = state.range(0) == 512 ? c512 : c64k;
  auto chain = Chain::open(c.image());
  if (!chain) return state.SkipWithError(chain.error().message.c_str());
  std::vector<Extent> extents;
  constexpr uint64_t kChunk = 4u << 20;
  for (auto _ : state)
    for (uint64_t g = 0; g < chain->size(); g += kChunk) {
      extents.clear();
      if (!chain->resolve(g, std::min(kChunk, chain->size() - g), extents)) state.SkipWithError("resolve");
      benchmark::DoNotOptimize(extents.data());
    }
  state.SetBytesProcessed(int64_t(state.iterations() * chain->size()));
  state.counters["virtual_MiB"] = double(chain->size() >> 20);
}

BENCHMARK(BM_Resolve)->Arg(512)->Arg(65536)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace qflash::bench
