// The bzip2 stream decoder on several threads (blocks cut at their magic and
// decoded apart) against `bzip2 -dc`: levels, empty and tiny streams,
// concatenated streams, runs that expand 45-fold, random data, input and
// output in odd small pieces; truncated, damaged and hostile input fails.
#include <gtest/gtest.h>

#include <random>

#include "codecs/stream.h"
#include "tests/support/support.h"

namespace qflash::test {
namespace {

struct Decoded {
  StreamStatus status = StreamStatus::Ok;  // Ok: the input ended inside a stream
  std::vector<uint8_t> bytes;
  std::string message;
};

// Decodes `data` handed in pieces of `in_piece` bytes into an output buffer
// of `out_piece` bytes, as StreamSource does (more input only once the
// decoder took all it had).
Decoded decode(StreamDecoder& dec, const std::vector<uint8_t>& data, size_t in_piece = 1 << 20,
               size_t out_piece = 1 << 20) {
  Decoded d;
  std::vector<uint8_t> buf(out_piece);
  std::span<const uint8_t> in;
  size_t pos = 0;
  while (true) {
    if (in.empty() && pos < data.size()) {
      const size_t n = std::min(in_piece, data.size() - pos);
      in = {data.data() + pos, n};
      pos += n;
    }
    const bool last = pos == data.size();
    std::span<uint8_t> out(buf);
    const size_t had = in.size();
    d.status = dec.decode(in, out, last);
    const size_t made = buf.size() - out.size();
    d.bytes.insert(d.bytes.end(), buf.begin(), buf.begin() + made);
    if (d.status != StreamStatus::Ok) break;
    if (last && made == 0 && had == in.size()) break;  // truncated
  }
  d.message = dec.message();
  return d;
}

class Bzip2 : public ::testing::Test {
 protected:
  // `bytes` compressed by `bzip2 LEVEL`, and what `bzip2 -dc` makes of it.
  using Bytes = std::vector<uint8_t>;
  std::pair<Bytes, Bytes> compressed(const Bytes& bytes, const std::string& level) {
    const std::string raw = dir / "raw", bz = dir / "raw.bz2";
    write_file(raw, bytes);
    must("bzip2 -f " + level + " " + raw);
    return {read_file(bz), oracle(read_file(bz))};
  }
  std::vector<uint8_t> oracle(const std::vector<uint8_t>& bz) {
    write_file(dir / "in.bz2", bz);
    const std::string out = must("bzip2 -dc " + dir / "in.bz2");
    return {out.begin(), out.end()};
  }
  static std::vector<uint8_t> random_bytes(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::vector<uint8_t> v(n);
    for (auto& b : v) b = uint8_t(rng());
    return v;
  }
  // Random with runs and repeats: compresses, in many blocks at -1.
  static std::vector<uint8_t> text_like(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::vector<uint8_t> v;
    while (v.size() < n) {
      const size_t len = rng() % 64;
      const uint8_t b = uint8_t('a' + rng() % 20);
      v.insert(v.end(), rng() % 4 ? 1 : len, b);
    }
    v.resize(n);
    return v;
  }
  // Expects every decoder (one thread and three) to give `want`.
  static void expect_decodes(const std::vector<uint8_t>& bz, const std::vector<uint8_t>& want,
                             size_t in_piece = 1 << 20, size_t out_piece = 1 << 20) {
    for (unsigned threads : {3u, 1u}) {
      auto dec = make_stream_decoder(StreamFormat::Bzip2, threads, 512 << 20);
      Decoded d = decode(*dec, bz, in_piece, out_piece);
      EXPECT_EQ(d.status, StreamStatus::End) << threads << " threads: " << d.message;
      EXPECT_TRUE(d.bytes == want) << threads << " threads: " << d.bytes.size() << " bytes, want "
                                   << want.size();
    }
  }
  ScratchDir dir;
};

TEST_F(Bzip2, LevelsOneAndNine) {
  const auto data = text_like(2 << 20, 1);
  for (const char* level : {"-1", "-9"}) {
    auto [bz, want] = compressed(data, level);
    EXPECT_EQ(want, data);
    expect_decodes(bz, want);
  }
}

TEST_F(Bzip2, EmptyAndTinyStreams) {
  auto [empty, none] = compressed({}, "-9");
  EXPECT_TRUE(none.empty());
  expect_decodes(empty, none);
  expect_decodes(empty, none, 1, 1);
  auto [tiny, hello] = compressed({'h', 'i', '\n'}, "-9");
  expect_decodes(tiny, hello);
  expect_decodes(tiny, hello, 1, 1);
}

TEST_F(Bzip2, ConcatenatedStreams) {
  auto [a, a_out] = compressed(text_like(1 << 20, 2), "-1");
  auto [e, e_out] = compressed({}, "-5");
  auto [b, b_out] = compressed(random_bytes(300 << 10, 3), "-2");
  std::vector<uint8_t> cat = a;
  cat.insert(cat.end(), e.begin(), e.end());
  cat.insert(cat.end(), b.begin(), b.end());
  cat.insert(cat.end(), a.begin(), a.end());
  const auto want = oracle(cat);
  EXPECT_EQ(want.size(), a_out.size() * 2 + b_out.size());
  expect_decodes(cat, want);
}

TEST_F(Bzip2, LongRunsExpandPastTheOutputPieces) {
  // At -1 a block holds 100 kB after the first run-length step, 5 MB of
  // zeros: more than the 4 MiB a block holds before its turn (at -9 one
  // block expands to 45 MB the same way).
  std::vector<uint8_t> data(12 << 20, 0);
  data[12345] = 1;
  const auto tail = random_bytes(100 << 10, 7);
  data.insert(data.end(), tail.begin(), tail.end());
  auto [bz, want] = compressed(data, "-1");
  expect_decodes(bz, want);
}

TEST_F(Bzip2, RandomDataInOddPieces) {
  auto [bz, want] = compressed(random_bytes(700 << 10, 4), "-1");
  expect_decodes(bz, want);
  expect_decodes(bz, want, 7, 4093);
  expect_decodes(bz, want, 65537, 1);
}

TEST_F(Bzip2, TruncatedAndDamagedStreamsFail) {
  auto [bz, want] = compressed(text_like(2 << 20, 5), "-1");
  for (unsigned threads : {3u, 1u}) {
    std::vector<uint8_t> cut(bz.begin(), bz.begin() + bz.size() * 2 / 3);
    auto dec = make_stream_decoder(StreamFormat::Bzip2, threads, 512 << 20);
    Decoded d = decode(*dec, cut, 4096);
    EXPECT_NE(d.status, StreamStatus::End) << threads;
    EXPECT_LT(d.bytes.size(), want.size());
    EXPECT_TRUE(std::equal(d.bytes.begin(), d.bytes.end(), want.begin()));

    std::vector<uint8_t> damaged = bz;
    damaged[damaged.size() / 2] ^= 0xff;
    dec->reset();
    d = decode(*dec, damaged);
    EXPECT_EQ(d.status, StreamStatus::Corrupt) << threads;
    EXPECT_NE(d.message.find("corrupt"), std::string::npos) << d.message;

    // Trailing bytes that are not bzip2: refused, as the one-thread
    // decoder always did (bzip2 -dc warns and ignores them).
    std::vector<uint8_t> trailing = bz;
    trailing.insert(trailing.end(), 100, 'x');
    dec->reset();
    d = decode(*dec, trailing);
    EXPECT_EQ(d.status, StreamStatus::Corrupt) << threads;
    EXPECT_TRUE(d.bytes == want) << threads;
  }
}

TEST_F(Bzip2, HostileInputFailsBounded) {
  auto dec = make_stream_decoder(StreamFormat::Bzip2, 3, 512 << 20);
  const uint8_t magic[] = {0x31, 0x41, 0x59, 0x26, 0x53, 0x59};
  // A block magic every 11 bytes: every piece fails, and joining them stops.
  std::vector<uint8_t> magics = {'B', 'Z', 'h', '9'};
  for (int i = 0; i < 30000; ++i) {
    magics.insert(magics.end(), magic, magic + 6);
    magics.insert(magics.end(), 5, uint8_t(i));
  }
  Decoded d = decode(*dec, magics);
  EXPECT_EQ(d.status, StreamStatus::Corrupt) << d.message;
  // One block that never ends.
  std::vector<uint8_t> endless = {'B', 'Z', 'h', '9', 0x31, 0x41, 0x59, 0x26, 0x53, 0x59};
  const auto noise = random_bytes(8 << 20, 6);
  endless.insert(endless.end(), noise.begin(), noise.end());
  dec->reset();
  d = decode(*dec, endless);
  EXPECT_EQ(d.status, StreamStatus::Corrupt);
  // Not bzip2 at all.
  dec->reset();
  d = decode(*dec, noise);
  EXPECT_EQ(d.status, StreamStatus::Corrupt);
}

}  // namespace
}  // namespace qflash::test
