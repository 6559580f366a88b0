// The pure cores behind raw images, in memory: bmap parsing and checking,
// stream format detection, and the stream source's window, second pass and
// size checks over gzip and zstd streams made here.
#include <gtest/gtest.h>
#include <zlib.h>
#include <zstd.h>

#include <atomic>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "codecs/stream.h"
#include "engine/bmap/bmap.h"
#include "io/stream/stream_source.h"
#include "tests/support/memory_source.h"

namespace qflash::test {
namespace {

std::string bmap_xml(const std::string& version, const std::string& ranges,
                     const std::string& extra = "<ChecksumType>sha256</ChecksumType>") {
  return "<?xml version=\"1.0\"?>\n<bmap version=\"" + version + "\">\n"
         "<ImageSize> 40960 </ImageSize>\n<BlockSize> 4096 </BlockSize>\n"
         "<BlocksCount> 10 </BlocksCount>\n" + extra + "\n<BlockMap>\n" + ranges +
         "</BlockMap>\n</bmap>\n";
}
const std::string kSha256(64, 'a');

TEST(BmapParse, Version2) {
  auto b = parse_bmap(bmap_xml("2.0", "<Range chksum=\"" + kSha256 + "\"> 0-1 </Range>\n"
                                      "<Range chksum=\"" + kSha256 + "\"> 5 </Range>\n"),
                      "x.bmap");
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_EQ(b->image_size, 40960u);
  EXPECT_EQ(b->checksum_type, "sha256");
  ASSERT_EQ(b->ranges.size(), 2u);
  EXPECT_EQ(b->ranges[1].first, 5u);
  EXPECT_EQ(b->ranges[1].last, 5u);
  EXPECT_EQ(b->mapped_bytes(), 3u * 4096);
}

TEST(BmapParse, Version1Sha1) {
  auto b = parse_bmap(bmap_xml("1.3", "<Range sha1=\"" + std::string(40, 'B') + "\"> 2-3 </Range>\n", ""),
                      "x.bmap");
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_EQ(b->checksum_type, "sha1");
  EXPECT_EQ(b->ranges[0].digest, std::string(40, 'b'));
}

TEST(BmapParse, Refusals) {
  auto refused = [](const std::string& xml, const std::string& why) {
    auto b = parse_bmap(xml, "x.bmap");
    ASSERT_FALSE(b) << why;
    EXPECT_NE(b.error().message.find(why), std::string::npos) << b.error().message;
  };
  refused(bmap_xml("3.0", ""), "version '3.0'");
  refused(bmap_xml("2.0", "<Range> 3-4 </Range><Range> 4-5 </Range>"), "overlaps");
  refused(bmap_xml("2.0", "<Range> 9-10 </Range>"), "past the image");
  refused(bmap_xml("2.0", "<Range> 5-4 </Range>"), "not a block range");
  refused(bmap_xml("2.0", "<Range chksum=\"abc\"> 1 </Range>"), "not sha256");
  refused(bmap_xml("2.0", "", "<ChecksumType>crc7</ChecksumType>"), "crc7");
  refused("<bmap version=\"2.0\"><ImageSize>x</ImageSize></bmap>", "not a number");
  refused("<bmap version=\"2.0\"><ImageSize>1</ImageSize>", "line");
  refused("<bmap version=\"2.0\"><ImageSize>8192</ImageSize><BlockSize>4096</BlockSize>"
          "<BlocksCount>3</BlocksCount></bmap>", "BlocksCount");
}

TEST(StreamDetect, Magics) {
  auto fmt = [](std::string head) {
    return detect_stream_format({reinterpret_cast<const uint8_t*>(head.data()), head.size()});
  };
  EXPECT_EQ(fmt(std::string("\x1f\x8b\x08\0\0\0", 6)), StreamFormat::Gzip);
  EXPECT_EQ(fmt(std::string("\xfd" "7zXZ\0", 6)), StreamFormat::Xz);
  EXPECT_EQ(fmt("\x28\xb5\x2f\xfd\x20\x00"), StreamFormat::Zstd);
  EXPECT_EQ(fmt("BZh91AY"), StreamFormat::Bzip2);
  EXPECT_EQ(fmt("PK\x03\x04\x14\x00"), StreamFormat::Zip);
  EXPECT_FALSE(fmt("PK\x05\x06"));  // an empty archive: its end record alone
  EXPECT_FALSE(fmt("BZh0"));
  EXPECT_FALSE(fmt("QFI\xfb"));
  EXPECT_FALSE(fmt(""));
}

std::vector<uint8_t> pattern(size_t n) {
  std::vector<uint8_t> v(n);
  std::mt19937 rng(3);
  for (size_t i = 0; i < n; ++i) v[i] = uint8_t(i % 4096 < 2048 ? rng() : 0);
  return v;
}

// zlib's deflate of `in`: window_bits 15 + 16 a gzip member, -15 raw deflate.
std::vector<uint8_t> deflated(std::span<const uint8_t> in, int window_bits) {
  z_stream z{};
  deflateInit2(&z, 1, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY);
  std::vector<uint8_t> out(deflateBound(&z, uLong(in.size())) + 64);
  z.next_in = const_cast<uint8_t*>(in.data());
  z.avail_in = uInt(in.size());
  z.next_out = out.data();
  z.avail_out = uInt(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

std::vector<uint8_t> gzip(std::span<const uint8_t> in) { return deflated(in, 15 + 16); }

std::vector<uint8_t> zstd(std::span<const uint8_t> in) {
  std::vector<uint8_t> out(ZSTD_compressBound(in.size()));
  out.resize(ZSTD_compress(out.data(), out.size(), in.data(), in.size(), 1));
  return out;
}

// Feeds `stream` to `dec` a byte at a time, as from a slow pipe (`last`
// with the last byte), into `room`, until a call says other than Ok. Every
// call must take its byte, and none find the stream corrupt (a failure,
// then Corrupt).
StreamStatus feed_bytewise(StreamDecoder& dec, std::span<const uint8_t> stream, std::span<uint8_t>& room) {
  StreamStatus st = StreamStatus::Ok;
  for (size_t at = 0; at < stream.size() && st == StreamStatus::Ok; ++at) {
    std::span<const uint8_t> in = stream.subspan(at, 1);
    st = dec.decode(in, room, at + 1 == stream.size());
    if (st == StreamStatus::Corrupt || !in.empty()) {
      ADD_FAILURE() << "at " << at << ": " << (in.empty() ? dec.message() : "the byte was not taken");
      return StreamStatus::Corrupt;
    }
  }
  return st;
}

// A gzip header with every optional field (extra, name, comment, CRC),
// arriving a byte at a time as from a slow pipe: the decoder waits for all
// of it before inflating (cut short, igzip once took the rest for deflate).
TEST(GzipDecoder, HeaderInPieces) {
  const auto raw = pattern(1 << 20);
  z_stream z{};
  deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string name = "a-rather-long-file-name.img", comment = "made for the test";
  std::vector<uint8_t> extra = {'Q', 'F', 2, 0, 1, 2};
  gz_header h{};
  h.name = reinterpret_cast<Bytef*>(name.data());
  h.comment = reinterpret_cast<Bytef*>(comment.data());
  h.extra = extra.data();
  h.extra_len = uInt(extra.size());
  h.hcrc = 1;
  deflateSetHeader(&z, &h);
  std::vector<uint8_t> gz(deflateBound(&z, uLong(raw.size())) + 256);
  z.next_in = const_cast<uint8_t*>(raw.data());
  z.avail_in = uInt(raw.size());
  z.next_out = gz.data();
  z.avail_out = uInt(gz.size());
  ASSERT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  gz.resize(z.total_out);
  deflateEnd(&z);

  auto dec = make_stream_decoder(StreamFormat::Gzip, 1, 64 << 20);
  std::vector<uint8_t> out(raw.size() + 1);  // room left: the trailer is read too
  std::span<uint8_t> room(out);
  ASSERT_NE(feed_bytewise(*dec, gz, room), StreamStatus::Corrupt);
  std::span<const uint8_t> none;
  EXPECT_EQ(dec->decode(none, room, true), StreamStatus::End);
  EXPECT_EQ(room.size(), 1u);
  out.pop_back();
  EXPECT_EQ(out, raw);
}

// A zip archive of one deflated file as `zip` writes it to a pipe (the
// sizes in a descriptor after the data) or to a file (in the header), then
// the central directory (only its signature is read).
std::vector<uint8_t> zip_of(std::span<const uint8_t> raw, bool descriptor, const std::string& name = "a.img") {
  const std::vector<uint8_t> data = deflated(raw, -15);
  const uint32_t crc = uint32_t(crc32(0, raw.data(), uInt(raw.size())));
  std::vector<uint8_t> zip;
  auto le = [&](uint64_t v, int bytes) {
    for (int k = 0; k < bytes; ++k) zip.push_back(k < 8 ? uint8_t(v >> (8 * k)) : 0);  // zeros past 8
  };
  le(0x04034b50, 4), le(20, 2), le(descriptor ? 8 : 0, 2), le(8, 2), le(0, 4);
  le(descriptor ? 0 : crc, 4), le(descriptor ? 0 : data.size(), 4), le(descriptor ? 0 : raw.size(), 4);
  le(name.size(), 2), le(0, 2);
  zip.insert(zip.end(), name.begin(), name.end());
  zip.insert(zip.end(), data.begin(), data.end());
  if (descriptor) le(0x08074b50, 4), le(crc, 4), le(data.size(), 4), le(raw.size(), 4);
  le(0x02014b50, 4), le(0, 42);
  zip.insert(zip.end(), name.begin(), name.end());
  le(0x06054b50, 4), le(0, 4), le(1, 2), le(1, 2), le(0, 10);
  return zip;
}

// Fed a byte at a time (a slow pipe): the bytes igzip read ahead past the
// deflate data, in calls before the one where it ended, are the
// descriptor's and the directory's, and are found there.
TEST(ZipDecoder, OneFileInPieces) {
  const auto raw = pattern(1 << 20);
  for (bool descriptor : {true, false}) {
    SCOPED_TRACE(descriptor);
    const auto zip = zip_of(raw, descriptor);
    auto dec = make_stream_decoder(StreamFormat::Zip, 1, 64 << 20);
    std::vector<uint8_t> out(raw.size() + 1);
    std::span<uint8_t> room(out);
    EXPECT_EQ(feed_bytewise(*dec, zip, room), StreamStatus::End);
    EXPECT_EQ(room.size(), 1u);
    out.pop_back();
    EXPECT_EQ(out, raw);
  }
}

TEST(ZipDecoder, RefusesWhatItCannotCheck) {
  const auto raw = pattern(64 << 10);
  auto decode = [](std::vector<uint8_t> zip) {
    auto dec = make_stream_decoder(StreamFormat::Zip, 1, 64 << 20);
    std::vector<uint8_t> out(1 << 20);
    std::span<uint8_t> room(out);
    std::span<const uint8_t> in(zip);
    StreamStatus st = StreamStatus::Ok;
    for (int calls = 0; st == StreamStatus::Ok && calls < 100; ++calls) st = dec->decode(in, room, true);
    return st == StreamStatus::Corrupt ? dec->message() : std::string("not refused");
  };
  auto zip = zip_of(raw, true);
  zip[30 + 5 + 100] ^= 0x55;  // in the deflate data
  EXPECT_NE(decode(zip), "not refused");
  zip = zip_of(raw, false);
  zip[14] ^= 1;  // the CRC-32 in the header
  EXPECT_EQ(decode(zip), "CRC-32 of the entry does not match");
  zip = zip_of(raw, false);
  zip[22] ^= 1;  // the uncompressed size
  EXPECT_NE(decode(zip).find("the entry's sizes"), std::string::npos) << decode(zip);
  zip = zip_of(raw, false);
  zip[6] = 1;  // encrypted
  EXPECT_EQ(decode(zip), "the entry is encrypted");
  zip = zip_of(raw, false);
  zip[28] = 200;  // an extra field of 200 bytes, which are deflate data: its own length runs past it
  EXPECT_NE(decode(zip).find("extra field"), std::string::npos) << decode(zip);
  // Two entries: the second's local header follows the first's data.
  zip = zip_of(raw, false);
  auto second = zip_of(raw, false, "b.img");
  const size_t first_end = zip.size() - (4 + 42 + 5) - 22;
  zip.resize(first_end);
  zip.insert(zip.end(), second.begin(), second.end());
  EXPECT_NE(decode(zip).find("a second file follows the first"), std::string::npos) << decode(zip);
}

TEST(StreamSource, WindowAndSecondPass) {
  const auto raw = pattern(8 << 20);
  const auto gz = gzip(raw);
  StreamOptions opt;
  opt.window = 4 << 20;  // half the stream: the read at 1 MiB falls behind it
  auto src = open_stream_source(std::make_shared<MemorySource>(gz, "m.gz"), StreamFormat::Gzip, opt);
  ASSERT_TRUE(src) << src.error().message;
  EXPECT_EQ((*src)->size(), raw.size());
  EXPECT_EQ((*src)->stream_info()->size_from, "decoded once to count");
  std::vector<uint8_t> buf(1 << 20);
  for (uint64_t off : {uint64_t(6) << 20, uint64_t(5) << 20, uint64_t(1) << 20, uint64_t(7) << 20}) {
    auto n = (*src)->read_at(buf, off);
    ASSERT_TRUE(n) << n.error().message;
    ASSERT_EQ(*n, buf.size());
    EXPECT_EQ(std::memcmp(buf.data(), raw.data() + off, buf.size()), 0) << off;
  }
  // Past the end: short.
  auto n = (*src)->read_at(buf, raw.size() - 100);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 100u);
}

// The zstd stream `zs` (the caller keeps it), read through a window of 4 MiB.
Result<SourcePtr> zstd_source_with_small_window(std::span<const uint8_t> zs) {
  StreamOptions opt;
  opt.window = 4 << 20;
  return open_stream_source(std::make_shared<MemorySource>(zs, "m.zst"), StreamFormat::Zstd, opt);
}

TEST(StreamSource, ReadsAcrossTheRingsWrap) {
  // 12 MiB through a 4 MiB ring, read in order in pieces of odd sizes: many
  // of them span the point where the ring wraps.
  const auto raw = pattern(12 << 20);
  const auto zs = zstd(raw);
  auto src = zstd_source_with_small_window(zs);
  ASSERT_TRUE(src) << src.error().message;
  std::vector<uint8_t> buf(1500 * 1000 + 7);
  for (uint64_t off = 0; off < raw.size(); off += buf.size() - 4099) {
    auto n = (*src)->read_at(buf, off);
    ASSERT_TRUE(n) << n.error().message;
    ASSERT_EQ(*n, std::min<uint64_t>(buf.size(), raw.size() - off));
    ASSERT_EQ(std::memcmp(buf.data(), raw.data() + off, *n), 0) << off;
  }
}

TEST(StreamSource, ReadersOnThreadsShareItsPasses) {
  // Three readers going through the stream together, as the engine's do,
  // and a fourth starting once they are past a window: it gets a second
  // pass. Every byte each one reads is the stream's.
  const auto raw = pattern(16 << 20);
  const auto zs = zstd(raw);
  auto src = zstd_source_with_small_window(zs);
  ASSERT_TRUE(src) << src.error().message;
  std::atomic<uint64_t> ahead{0};
  std::atomic<int> bad{0};
  auto reader = [&](uint64_t piece, uint64_t start_after) {
    while (ahead.load() < start_after) std::this_thread::yield();
    std::vector<uint8_t> buf(piece);
    for (uint64_t off = 0; off < raw.size(); off += piece) {
      auto n = (*src)->read_at(buf, off);
      if (!n || *n != std::min<uint64_t>(piece, raw.size() - off) ||
          std::memcmp(buf.data(), raw.data() + off, *n) != 0)
        ++bad;
      ahead = std::max<uint64_t>(ahead.load(), off);
    }
  };
  std::vector<std::thread> readers;
  for (uint64_t piece : {1u << 20, 1500u * 1000, 777u * 1000}) readers.emplace_back(reader, piece, 0);
  readers.emplace_back(reader, 1u << 20, 10u << 20);
  for (auto& t : readers) t.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_TRUE((*src)->settle());
}

TEST(StreamSource, SizesChecked) {
  const auto raw = pattern(3 << 20);
  // zstd: the size from the frame header.
  const auto zs = zstd(raw);
  auto src = open_stream_source(std::make_shared<MemorySource>(zs, "m.zst"), StreamFormat::Zstd);
  ASSERT_TRUE(src) << src.error().message;
  EXPECT_EQ((*src)->size(), raw.size());
  // A size hint that is too small: the stream grows past it.
  auto gz = gzip(raw);
  StreamOptions small;
  small.size_hint = 1 << 20;
  src = open_stream_source(std::make_shared<MemorySource>(gz, "m.gz"), StreamFormat::Gzip, small);
  ASSERT_TRUE(src);
  // Reads end at the size; settling finds that the stream goes on.
  std::vector<uint8_t> buf(2 << 20);
  auto n = (*src)->read_at(buf, 0);
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, 1u << 20);
  auto settled = (*src)->settle();
  ASSERT_FALSE(settled);
  EXPECT_NE(settled.error().message.find("grows past the size 1048576"), std::string::npos)
      << settled.error().message;
  // Truncated: found by the counting pass, naming the offsets.
  gz.resize(gz.size() / 2);
  src = open_stream_source(std::make_shared<MemorySource>(gz, "m.gz"), StreamFormat::Gzip);
  ASSERT_FALSE(src);
  EXPECT_NE(src.error().message.find("m.gz: gzip stream is truncated at compressed byte"),
            std::string::npos) << src.error().message;
}

}  // namespace
}  // namespace qflash::test
