// Inflating real qcow2 deflate clusters: libdeflate (what qflash uses)
// against zlib (what qemu uses), on the same streams.
#include <benchmark/benchmark.h>
#include <zlib.h>

#include "bench/corpus.h"
#include "codecs/codec.h"

namespace qflash::bench {
namespace {

const Corpus& corpus(uint32_t cluster) {
  static Corpus c64("zlib", 65536, 64), c2m("zlib", 2u << 20, 64);
  return cluster == 65536 ? c64 : c2m;
}

void BM_InflateLibdeflate(benchmark::State& state) {
  const Corpus& c = corpus(uint32_t(state.range(0)));
  Decompressor dec;
  std::vector<uint8_t> out(size_t(state.range(0)));
  for (auto _ : state)
    for (const auto& cl : c.clusters())
      if (dec.decompress(Codec::Deflate, cl.stream, {out.data(), cl.size}) != DecodeResult::Ok)
        state.SkipWithError("libdeflate: bad cluster");
  state.SetBytesProcessed(int64_t(state.iterations() * c.decoded_bytes()));
  state.counters["clusters"] = double(c.clusters().size());
}

void BM_InflateZlib(benchmark::State& state) {
  const Corpus& c = corpus(uint32_t(state.range(0)));
  z_stream z{};
  inflateInit2(&z, -12);  // raw deflate with qcow2's 4 KiB window, as qemu does
  std::vector<uint8_t> out(size_t(state.range(0)));
  for (auto _ : state)
    for (const auto& cl : c.clusters()) {
      inflateReset(&z);
      z.next_in = const_cast<uint8_t*>(cl.stream.data());
      z.avail_in = uInt(cl.stream.size());
      z.next_out = out.data();
      z.avail_out = cl.size;
      const int rc = inflate(&z, Z_FINISH);
      if ((rc != Z_STREAM_END && rc != Z_BUF_ERROR) || z.avail_out != 0) state.SkipWithError("zlib: bad cluster");
    }
  inflateEnd(&z);
  state.SetBytesProcessed(int64_t(state.iterations() * c.decoded_bytes()));
  state.counters["clusters"] = double(c.clusters().size());
}

BENCHMARK(BM_InflateLibdeflate)->Arg(65536)->Arg(2 << 20)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_InflateZlib)->Arg(65536)->Arg(2 << 20)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace qflash::bench
