// Decoding real qcow2 zstd clusters with the Decompressor qflash uses.
#include <benchmark/benchmark.h>

#include "bench/corpus.h"
#include "codecs/codec.h"

namespace qflash::bench {
namespace {

const Corpus& corpus(uint32_t cluster) {
  static Corpus c64("zstd", 65536, 64), c2m("zstd", 2u << 20, 64);
  return cluster == 65536 ? c64 : c2m;
}

void BM_Zstd(benchmark::State& state) {
  const Corpus& c = corpus(uint32_t(state.range(0)));
  Decompressor dec;
  std::vector<uint8_t> out(size_t(state.range(0)));
  for (auto _ : state)
    for (const auto& cl : c.clusters())
      if (dec.decompress(Codec::Zstd, cl.stream, {out.data(), cl.size}) != DecodeResult::Ok)
        state.SkipWithError("zstd: bad cluster");
  state.SetBytesProcessed(int64_t(state.iterations() * c.decoded_bytes()));
  state.counters["clusters"] = double(c.clusters().size());
}

BENCHMARK(BM_Zstd)->Arg(65536)->Arg(2 << 20)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace qflash::bench
