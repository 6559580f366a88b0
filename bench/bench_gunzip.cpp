// gzip streams of raw disk images: which inflater qflash should use.
// ISA-L's igzip (streaming; what codecs/igzip.cpp uses, measured through
// qflash's StreamDecoder), zlib (streaming), and libdeflate (fastest per byte,
// but whole-buffer only: the entire stream and its output in memory).
// Input: 64 MiB of real files from this system, gzip -6.
#include <benchmark/benchmark.h>
#include <libdeflate.h>
#include <zlib.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "codecs/stream.h"

namespace qflash::bench {
namespace {

struct GzipCorpus {
  std::vector<uint8_t> gz;
  size_t raw_size = 0;
  GzipCorpus() {
    const std::string cmd =
        "find /usr/lib /usr/bin -type f -size +16k 2>/dev/null | head -n 4000 | xargs cat "
        "2>/dev/null | head -c 64M | tee /tmp/qflash-bench-gunzip.raw | gzip -6";
    FILE* p = ::popen(cmd.c_str(), "r");
    uint8_t buf[1 << 16];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) gz.insert(gz.end(), buf, buf + n);
    ::pclose(p);
    FILE* f = std::fopen("/tmp/qflash-bench-gunzip.raw", "rb");
    std::fseek(f, 0, SEEK_END);
    raw_size = size_t(std::ftell(f));
    std::fclose(f);
    std::remove("/tmp/qflash-bench-gunzip.raw");
  }
};

const GzipCorpus& corpus() {
  static GzipCorpus c;
  return c;
}

constexpr size_t kOut = 4u << 20;  // output piece, as the stream source's window takes it

void BM_GunzipIsal(benchmark::State& state) {
  const auto& c = corpus();
  std::vector<uint8_t> out(kOut);
  auto dec = make_stream_decoder(StreamFormat::Gzip, 1, 0);
  for (auto _ : state) {
    dec->reset();
    std::span<const uint8_t> in(c.gz);
    while (true) {
      std::span<uint8_t> o(out);
      if (dec->decode(in, o, true) != StreamStatus::Ok) break;
    }
  }
  state.SetBytesProcessed(int64_t(state.iterations() * c.raw_size));
}

void BM_GunzipZlib(benchmark::State& state) {
  const auto& c = corpus();
  std::vector<uint8_t> out(kOut);
  z_stream z{};
  inflateInit2(&z, 15 + 16);
  for (auto _ : state) {
    inflateReset(&z);
    z.next_in = const_cast<uint8_t*>(c.gz.data());
    z.avail_in = uInt(c.gz.size());
    int r;
    do {
      z.next_out = out.data();
      z.avail_out = uInt(out.size());
      r = inflate(&z, Z_NO_FLUSH);
    } while (r == Z_OK);
    if (r != Z_STREAM_END) state.SkipWithError("zlib failed");
  }
  inflateEnd(&z);
  state.SetBytesProcessed(int64_t(state.iterations() * c.raw_size));
}

void BM_GunzipLibdeflate(benchmark::State& state) {
  const auto& c = corpus();
  std::vector<uint8_t> out(c.raw_size);
  libdeflate_decompressor* d = libdeflate_alloc_decompressor();
  for (auto _ : state) {
    size_t got = 0;
    if (libdeflate_gzip_decompress(d, c.gz.data(), c.gz.size(), out.data(), out.size(), &got) !=
        LIBDEFLATE_SUCCESS)
      state.SkipWithError("libdeflate failed");
  }
  libdeflate_free_decompressor(d);
  state.SetBytesProcessed(int64_t(state.iterations() * c.raw_size));
}


BENCHMARK(BM_GunzipIsal)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_GunzipZlib)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_GunzipLibdeflate)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace qflash::bench
