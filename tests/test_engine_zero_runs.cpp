// engine/write planner: all-zero runs found in read data (find_zero_runs,
// add_zero_runs) become zero ranges on whole 4 KiB grains, in memory.
#include <gtest/gtest.h>

#include <vector>

#include "engine/write/planner.h"

namespace qflash {
namespace {

TEST(EngineZeroRuns, WholeGrainsOnlyAndTheShortEnd) {
  std::vector<uint8_t> b(10 * 4096 + 100, 0);
  b[4096 + 5] = 1;       // grain 1 has data
  b[5 * 4096 - 1] = 1;   // grain 4 has data at its last byte
  b[10 * 4096 + 99] = 0;
  auto runs = find_zero_runs(b);
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_EQ(runs[0].offset, 0u);
  EXPECT_EQ(runs[0].length, 4096u);
  EXPECT_EQ(runs[1].offset, 2u * 4096);
  EXPECT_EQ(runs[1].length, 2u * 4096);
  EXPECT_EQ(runs[2].offset, 5u * 4096);
  EXPECT_EQ(runs[2].length, 5u * 4096 + 100);  // the short end joins its run
  b[10 * 4096 + 1] = 7;
  runs = find_zero_runs(b);
  EXPECT_EQ(runs.back().length, 5u * 4096);
  EXPECT_TRUE(find_zero_runs(std::vector<uint8_t>(4096, 9)).empty());
}

TEST(EngineZeroRuns, AddedToThePlanAsHolesWhenLongEnough) {
  const uint64_t len = 1u << 20;
  std::vector<uint8_t> chunk(len, 0x5a);
  std::fill(chunk.begin() + 4096, chunk.begin() + 4096 + (512u << 10), 0);  // a long zero run
  std::fill(chunk.begin() + (700u << 10), chunk.begin() + (708u << 10), 0);  // a short one
  ChunkPlan plan;
  plan.guest = 0;
  plan.length = len;
  plan.data = {{0, len}};
  plan.writes = {{0, len}};
  add_zero_runs(plan, chunk, {{0, len}});
  ASSERT_EQ(plan.zeros.size(), 2u);
  EXPECT_EQ(plan.zeros[0].offset, 4096u);
  EXPECT_EQ(plan.zeros[0].length, 512u << 10);
  ASSERT_EQ(plan.holes.size(), 1u);  // the short run goes out with its neighbours
  EXPECT_EQ(plan.holes[0].offset, 4096u);
  ASSERT_EQ(plan.writes.size(), 2u);
  EXPECT_EQ(plan.writes[0].length, 4096u);
  EXPECT_EQ(plan.writes[1].offset, 4096u + (512u << 10));
  // Runs not on the grain counted from the chunk are not taken.
  ChunkPlan p2 = plan;
  p2.zeros.clear();
  std::vector<uint8_t> odd(len, 1);
  std::fill(odd.begin() + 100, odd.begin() + 6000, 0);  // no whole grain
  add_zero_runs(p2, odd, {{0, len}});
  EXPECT_TRUE(p2.zeros.empty());
}

// A chunk whose stream ended inside it (a size found at the end): its runs
// stop at the new length, and its holes and writes are planned again.
TEST(EngineZeroRuns, ShortenedChunkKeepsOnlyItsFirstBytes) {
  ChunkPlan plan;
  plan.length = 1u << 20;
  plan.data = {{0, 100}, {300u << 10, 200u << 10}};
  plan.zeros = {{100, (300u << 10) - 100}, {500u << 10, 524u << 10}};
  plan.holes = plan.zeros;
  shorten_chunk(plan, 400u << 10);
  EXPECT_EQ(plan.length, 400u << 10);
  ASSERT_EQ(plan.data.size(), 2u);
  EXPECT_EQ(plan.data[1].length, 100u << 10);
  ASSERT_EQ(plan.zeros.size(), 1u);
  ASSERT_EQ(plan.holes.size(), 1u);
  ASSERT_EQ(plan.writes.size(), 2u);
  EXPECT_EQ(plan.writes[1].offset, 300u << 10);
  EXPECT_EQ(plan.writes[1].length, 100u << 10);
  shorten_chunk(plan, 0);
  EXPECT_TRUE(plan.all_zero());
  EXPECT_TRUE(plan.writes.empty() && plan.holes.empty());
  shorten_chunk(plan, 4096);  // never longer
  EXPECT_EQ(plan.length, 0u);
}

}  // namespace
}  // namespace qflash
