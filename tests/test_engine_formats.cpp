// The engine against qemu-img for every compression and cluster size, odd
// virtual sizes, backing chains and sub-ranges: every target byte-exact.
#include <gtest/gtest.h>

#include <tuple>

#include "tests/support/engine_run.h"
#include "tests/support/support.h"

namespace qflash::test {
namespace {

using Format = std::tuple<std::string, uint32_t>;  // compression ("" = none), cluster size

class EngineFormats : public testing::TestWithParam<Format> {};

std::string format_name(const testing::TestParamInfo<Format>& info) {
  const std::string& c = std::get<0>(info.param);
  return (c.empty() ? std::string("plain") : c) + "_" + std::to_string(std::get<1>(info.param));
}

TEST_P(EngineFormats, EveryTargetEqualsQemuRaw) {
  const auto& [compression, cluster] = GetParam();
  ScratchDir dir;
  // Odd sizes: not a multiple of the cluster, the chunk or 4 KiB.
  const uint64_t size = (cluster >= (1u << 20) ? (9u << 20) : (7u << 20)) + 3 * 512;
  make_mixed_raw(dir / "src.raw", size);
  std::string opts = "cluster_size=" + std::to_string(cluster);
  if (!compression.empty()) opts += ",compression_type=" + compression;
  must("qemu-img convert -f raw -O qcow2 " + std::string(compression.empty() ? "" : "-c ") + "-o " +
       opts + " " + quote(dir / "src.raw") + " " + quote(dir / "img.qcow2"));
  // Rewritten parts of compressed clusters become plain clusters: both kinds.
  must("qemu-io -c 'write -P 0x44 1536 2048' -c 'write -z 3M 64k' " + quote(dir / "img.qcow2"));
  qemu_raw(dir / "img.qcow2", dir / "want.raw");

  std::vector<TargetSpec> targets{{dir / "a.raw"}, {dir / "b.raw"}, {dir / "c.raw"}};
  auto report = engine_write(dir / "img.qcow2", targets);
  ASSERT_TRUE(report) << report.error().message;
  for (const auto& t : targets) EXPECT_EQ(first_difference(dir / "want.raw", t.path), -1) << t.path;
  for (const auto& r : report->targets) {
    EXPECT_TRUE(r.status.ok()) << r.status.error().message;
    EXPECT_EQ(r.bytes, size);
  }
}

INSTANTIATE_TEST_SUITE_P(
    All, EngineFormats,
    testing::Combine(testing::Values("", "zlib", "zstd"),
                     testing::Values(512u, 4096u, 65536u, 2u << 20)),
    format_name);

TEST(EngineChain, BackingChainWithSmallerClustersOverCompressed) {
  ScratchDir dir;
  const uint64_t size = (5u << 20) + 512;
  make_mixed_raw(dir / "src.raw", size);
  must("qemu-img convert -f raw -O qcow2 -c -o compression_type=zstd,cluster_size=65536 " +
       quote(dir / "src.raw") + " " + quote(dir / "base.qcow2"));
  // 4 KiB clusters on top: the base's compressed clusters are used in slices.
  must("qemu-img create -q -f qcow2 -o cluster_size=4096 -b base.qcow2 -F qcow2 " + quote(dir / "mid.qcow2"));
  must("qemu-io -c 'write -P 0x55 8k 4k' -c 'write -P 0x56 70k 12k' -c 'write -z 200k 8k' " + quote(dir / "mid.qcow2"));
  must("qemu-img create -q -f qcow2 -b mid.qcow2 -F qcow2 " + quote(dir / "top.qcow2"));
  must("qemu-io -c 'write -P 0x57 1M 4k' " + quote(dir / "top.qcow2"));
  qemu_raw(dir / "top.qcow2", dir / "want.raw");

  auto report = engine_write(dir / "top.qcow2", {{dir / "a.raw"}, {dir / "b.raw"}});
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(first_difference(dir / "want.raw", dir / "a.raw"), -1);
  EXPECT_EQ(first_difference(dir / "want.raw", dir / "b.raw"), -1);
}

TEST(EngineRanges, TargetsGetTheirOwnRangeAtOffsetZero) {
  ScratchDir dir;
  const uint64_t size = 12u << 20;
  make_mixed_raw(dir / "src.raw", size);
  must("qemu-img convert -f raw -O qcow2 -c " + quote(dir / "src.raw") + " " + quote(dir / "img.qcow2"));
  std::vector<TargetSpec> targets{{dir / "p1.raw", (1u << 20) + 512, 3u << 20},
                                  {dir / "p2.raw", 5u << 20, UINT64_MAX},
                                  {dir / "all.raw"}};
  auto report = engine_write(dir / "img.qcow2", targets);
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(read_file(dir / "p1.raw"), read_range(dir / "src.raw", (1u << 20) + 512, 3u << 20));
  EXPECT_EQ(read_file(dir / "p2.raw"), read_range(dir / "src.raw", 5u << 20, size - (5u << 20)));
  EXPECT_EQ(first_difference(dir / "src.raw", dir / "all.raw"), -1);
  EXPECT_EQ(report->targets[0].bytes, 3u << 20);
}

TEST(EngineMemory, SmallPoolOneWorkerShallowQueueStillExact) {
  ScratchDir dir;
  const uint64_t size = (9u << 20) + 1024;
  make_mixed_raw(dir / "src.raw", size);
  // 2 MiB clusters with a 1 MiB pool: chunks are smaller than a cluster.
  must("qemu-img convert -f raw -O qcow2 -c -o cluster_size=2M " + quote(dir / "src.raw") + " " +
       quote(dir / "img.qcow2"));
  WriteOptions options;
  options.memory = 1u << 20;
  options.jobs = 1;
  options.queue_depth = 2;
  auto report = engine_write(dir / "img.qcow2", {{dir / "a.raw"}, {dir / "b.raw"}}, options);
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(first_difference(dir / "src.raw", dir / "a.raw"), -1);
  EXPECT_EQ(first_difference(dir / "src.raw", dir / "b.raw"), -1);
}

}  // namespace
}  // namespace qflash::test
