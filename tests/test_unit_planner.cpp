// The chunk planner on extents made by hand, in memory: where data is read
// to, which zero runs become holes, each compressed cluster decoded once,
// and merged reads of compressed streams that stay within the chunk's size.
#include <gtest/gtest.h>

#include <algorithm>

#include "engine/write/planner.h"
#include "tests/support/memory_source.h"

namespace qflash::test {
namespace {

constexpr uint64_t KiB = 1024, MiB = 1024 * KiB;

Extent data(uint64_t guest, uint64_t length, const Source* src, uint64_t host) {
  Extent e;
  e.kind = Extent::Kind::Data;
  e.guest = guest;
  e.length = length;
  e.source = src;
  e.host = host;
  return e;
}

Extent zero(uint64_t guest, uint64_t length) {
  Extent e;
  e.guest = guest;
  e.length = length;
  return e;
}

Extent compressed(uint64_t guest, uint64_t length, const Source* src, uint64_t host,
                  uint32_t csize, uint32_t cluster, uint32_t skip) {
  Extent e = data(guest, length, src, host);
  e.kind = Extent::Kind::Compressed;
  e.csize = csize;
  e.cluster_size = cluster;
  e.skip = skip;
  return e;
}

// Every decode's stream lies inside one side read, at the offset the
// decode names, and the side reads fill the side buffer exactly.
void expect_side_consistent(const ChunkPlan& p) {
  uint64_t side = 0;
  for (const PlannedRead& r : p.reads)
    if (r.to_side) {
      EXPECT_EQ(r.offset, side);
      side += r.length;
    }
  EXPECT_EQ(side, p.side_bytes);
  for (const PlannedDecode& d : p.decodes) {
    const Extent& e = d.first;
    auto in = std::find_if(p.reads.begin(), p.reads.end(), [&](const PlannedRead& r) {
      return r.to_side && r.source == e.source && r.host <= e.host &&
             e.host + e.csize <= r.host + r.length;
    });
    ASSERT_NE(in, p.reads.end()) << "stream at " << e.host << " is not read";
    EXPECT_EQ(d.side_offset, in->offset + (e.host - in->host));
  }
}

const std::vector<uint8_t> kNoBytes;

TEST(Planner, DataReadInPlaceAndLongZeroRunsAreHoles) {
  MemorySource src(kNoBytes);
  const uint64_t g = 8 * MiB;
  ChunkPlan p;
  plan_chunk(g, 1 * MiB,
             {data(g, 64 * KiB, &src, 5 * MiB), zero(g + 64 * KiB, 512 * KiB),
              data(g + 576 * KiB, 448 * KiB, &src, 9 * MiB)},
             p);
  ASSERT_EQ(p.reads.size(), 2u);
  EXPECT_FALSE(p.reads[0].to_side);
  EXPECT_EQ(p.reads[0].offset, 0u);
  EXPECT_EQ(p.reads[0].host, 5 * MiB);
  EXPECT_EQ(p.reads[1].offset, 576 * KiB);
  EXPECT_EQ(p.reads[1].length, 448 * KiB);
  ASSERT_EQ(p.holes.size(), 1u);
  EXPECT_EQ(p.holes[0].offset, 64 * KiB);
  ASSERT_EQ(p.writes.size(), 2u);
  EXPECT_EQ(p.writes[0].length, 64 * KiB);
  EXPECT_EQ(p.writes[1].offset, 576 * KiB);
  EXPECT_EQ(p.data.size(), 2u);
  EXPECT_TRUE(p.needs_worker_read);  // a memory source has no descriptor
  EXPECT_EQ(p.side_bytes, 0u);
}

TEST(Planner, ShortZeroRunsAreWrittenWithTheirNeighbours) {
  MemorySource src(kNoBytes);
  ChunkPlan p;
  plan_chunk(0, 1 * MiB,
             {data(0, 512 * KiB, &src, 0), zero(512 * KiB, 4 * KiB),
              data(516 * KiB, 508 * KiB, &src, 516 * KiB)},
             p);
  EXPECT_TRUE(p.holes.empty());
  ASSERT_EQ(p.writes.size(), 1u);
  EXPECT_EQ(p.writes[0].length, 1 * MiB);
  ASSERT_EQ(p.zeros.size(), 1u);
  EXPECT_EQ(p.zeros[0].length, 4 * KiB);
}

TEST(Planner, AnAllZeroChunkIsOneHoleHoweverShort) {
  ChunkPlan p;
  plan_chunk(0, 4 * KiB, {zero(0, 4 * KiB)}, p);
  EXPECT_TRUE(p.all_zero());
  ASSERT_EQ(p.holes.size(), 1u);
  EXPECT_TRUE(p.writes.empty());
  EXPECT_TRUE(p.reads.empty());
}

TEST(Planner, EachCompressedClusterDecodedOnceWhateverItsSlices) {
  // A 64 KiB compressed cluster A whose slices interleave with those of B.
  MemorySource src(kNoBytes);
  ChunkPlan p;
  plan_chunk(0, 64 * KiB,
             {compressed(0, 8 * KiB, &src, 100000, 3000, 64 * KiB, 0),
              compressed(8 * KiB, 8 * KiB, &src, 200000, 2000, 64 * KiB, 8 * KiB),
              compressed(16 * KiB, 48 * KiB, &src, 100000, 3000, 64 * KiB, 16 * KiB)},
             p);
  ASSERT_EQ(p.decodes.size(), 2u);
  EXPECT_EQ(p.decodes[0].slices.size(), 2u);
  EXPECT_EQ(p.decodes[0].slices[1].skip, 16 * KiB);
  EXPECT_EQ(p.decodes[0].slices[1].offset, 16 * KiB);
  EXPECT_EQ(p.decodes[1].slices.size(), 1u);
  expect_side_consistent(p);
}

TEST(Planner, NearbyStreamsAreReadAsOne) {
  MemorySource src(kNoBytes), other(kNoBytes);
  ChunkPlan p;
  plan_chunk(0, 192 * KiB,
             {compressed(0, 64 * KiB, &src, 10000, 5000, 64 * KiB, 0),
              compressed(64 * KiB, 64 * KiB, &src, 16000, 5000, 64 * KiB, 0),
              compressed(128 * KiB, 64 * KiB, &other, 21000, 5000, 64 * KiB, 0)},
             p);
  // Two reads: the first two streams with the 1000-byte gap, and the one
  // in another file (never merged across files).
  ASSERT_EQ(p.reads.size(), 2u);
  EXPECT_EQ(p.side_bytes, 16000u);
  expect_side_consistent(p);
}

TEST(Planner, SparseStreamsNeverMakeAMergedReadLargerThanTheChunk) {
  // 512-byte clusters compressed to 512-byte streams 64 KiB apart: merging
  // every gap would read 512 MiB for a 4 MiB chunk.
  MemorySource src(kNoBytes);
  std::vector<Extent> extents;
  const uint64_t chunk = 4 * MiB;
  for (uint64_t i = 0; i < chunk / 512; ++i)
    extents.push_back(compressed(i * 512, 512, &src, 1 * MiB + i * 64 * KiB, 512, 512, 0));
  ChunkPlan p;
  plan_chunk(0, chunk, extents, p);
  EXPECT_LE(p.side_bytes, chunk);
  EXPECT_EQ(p.decodes.size(), chunk / 512);
  expect_side_consistent(p);
}

TEST(Planner, GapsAreMergedWhileTheChunkLeavesRoom) {
  // Four 4 KiB streams 32 KiB apart in a 1 MiB chunk of 64 KiB clusters:
  // the gaps fit in what the streams leave of the chunk: one read.
  MemorySource src(kNoBytes);
  std::vector<Extent> extents;
  for (uint64_t i = 0; i < 4; ++i)
    extents.push_back(compressed(i * 64 * KiB, 64 * KiB, &src, i * 32 * KiB, 4 * KiB, 64 * KiB, 0));
  extents.push_back(zero(256 * KiB, 768 * KiB));
  ChunkPlan p;
  plan_chunk(0, 1 * MiB, extents, p);
  ASSERT_EQ(p.reads.size(), 1u);
  EXPECT_EQ(p.side_bytes, 100 * KiB);
  expect_side_consistent(p);
}

}  // namespace
}  // namespace qflash::test
