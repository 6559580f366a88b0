// The engine's targets: many files and loop devices at once, zeros on
// devices (written, or left with --sparse), holes in files, a target that
// runs out of space while the others finish, the digests, the stop
// flag, and a corrupt cluster failing the run.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>

#include "tests/support/engine_run.h"
#include "tests/support/loop_device.h"
#include "tests/support/support.h"

namespace qflash::test {
namespace {

constexpr uint64_t kSize = (10u << 20) + 1536;

// A compressed image of kSize whose middle is unallocated.
void make_image(const ScratchDir& dir) {
  make_mixed_raw(dir / "src.raw", kSize);
  must("qemu-img convert -f raw -O qcow2 -c -o compression_type=zstd " + quote(dir / "src.raw") + " " +
       quote(dir / "img.qcow2"));
  qemu_raw(dir / "img.qcow2", dir / "want.raw");
}

void fill(const std::string& path, uint64_t size, uint8_t byte) {
  write_file(path, std::vector<uint8_t>(size, byte));
}

TEST(EngineTargets, ManyFilesAndLoopDevicesAllExact) {
  ScratchDir dir;
  make_image(dir);
  // Devices full of 0xff: the zero runs must be written over.
  fill(dir / "disk0", kSize, 0xff);
  fill(dir / "disk1", kSize, 0xff);
  LoopDevice loop0(dir / "disk0", {.direct_io = true});
  LoopDevice loop1(dir / "disk1", {.direct_io = true});
  if (!loop0.ok() || !loop1.ok()) GTEST_SKIP() << "no loop devices here";
  std::vector<TargetSpec> targets{{loop0.path()}, {loop1.path()}};
  for (const char* name : {"f0.raw", "f1.raw", "f2.raw", "f3.raw", "f4.raw", "f5.raw"})
    targets.push_back({dir / name});
  auto report = engine_write(dir / "img.qcow2", targets);
  ASSERT_TRUE(report) << report.error().message;
  for (const auto& r : report->targets) EXPECT_TRUE(r.status.ok()) << r.status.error().message;
  for (const auto& t : targets) EXPECT_EQ(first_difference(dir / "want.raw", t.path), -1) << t.path;
}

TEST(EngineTargets, SparseLeavesDeviceZeroRunsAndFilesGetHoles) {
  ScratchDir dir;
  make_image(dir);
  fill(dir / "disk", kSize, 0xff);
  LoopDevice loop(dir / "disk", {.direct_io = true});
  if (!loop.ok()) GTEST_SKIP() << "no loop devices here";
  WriteOptions options;
  options.sparse = true;
  auto report = engine_write(dir / "img.qcow2", {{loop.path()}, {dir / "file.raw"}}, options);
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(first_difference(dir / "want.raw", dir / "file.raw"), -1);
  // The data is there, the unallocated middle still holds the old bytes.
  EXPECT_EQ(read_range(loop.path(), 0, 1u << 20), read_range(dir / "want.raw", 0, 1u << 20));
  EXPECT_EQ(read_range(loop.path(), 2u << 20, 4096), std::vector<uint8_t>(4096, 0xff));
  struct stat st;
  ASSERT_EQ(::stat((dir / "file.raw").c_str(), &st), 0);
  EXPECT_LT(uint64_t(st.st_blocks) * 512, kSize / 2) << "zero runs should be holes";
}

TEST(EngineTargets, FullTargetIsDroppedOthersFinish) {
  ScratchDir dir;
  make_image(dir);
  must("mkdir " + quote(dir / "small"));
  TmpfsMount tmpfs(dir / "small", 2u << 20);
  if (!tmpfs.ok()) GTEST_SKIP() << "cannot mount tmpfs here";
  WriteOptions options;
  options.memory = 4u << 20;  // many chunks, so the failure comes mid-run
  auto report = engine_write(
      dir / "img.qcow2", {{dir / "a.raw"}, {dir / "small/full.raw"}, {dir / "b.raw"}}, options);
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_TRUE(report->targets[0].status.ok());
  EXPECT_TRUE(report->targets[2].status.ok());
  ASSERT_FALSE(report->targets[1].status.ok());
  const std::string msg = report->targets[1].status.error().message;
  EXPECT_NE(msg.find(dir / "small/full.raw"), std::string::npos) << msg;
  EXPECT_NE(msg.find("No space left"), std::string::npos) << msg;
  EXPECT_LT(report->targets[1].bytes, kSize);
  EXPECT_EQ(first_difference(dir / "want.raw", dir / "a.raw"), -1);
  EXPECT_EQ(first_difference(dir / "want.raw", dir / "b.raw"), -1);
}

TEST(EngineTargets, DigestsEqualSha256sumOfImageAndTargets) {
  ScratchDir dir;
  make_image(dir);
  const uint64_t start = 512 * 3, length = kSize - 512 * 7;
  auto report = engine_write(dir / "img.qcow2", {{dir / "all.raw"}, {dir / "part.raw", start, length}});
  ASSERT_TRUE(report) << report.error().message;
  ASSERT_TRUE(report->error.ok()) << report->error.error().message;
  auto sum = [](const std::string& path) { return must("sha256sum " + quote(path)).substr(0, 64); };
  EXPECT_EQ(report->image_sha256, sum(dir / "img.qcow2"));
  must("dd if=" + quote(dir / "want.raw") + " of=" + quote(dir / "want-part.raw") + " bs=512 skip=3 count=" +
       std::to_string(length / 512) + " status=none");
  const std::vector<std::string> paths{dir / "all.raw", dir / "part.raw"};
  const std::vector<std::string> want{dir / "want.raw", dir / "want-part.raw"};
  for (size_t t = 0; t < 2; ++t) {
    ASSERT_TRUE(report->targets[t].complete);
    ASSERT_TRUE(report->targets[t].sha256.has_value());
    EXPECT_EQ(Sha256::hex(*report->targets[t].sha256), sum(paths[t]));
    EXPECT_EQ(first_difference(want[t], paths[t]), -1);
  }
}

TEST(EngineTargets, StopFlagEndsTheRunInterrupted) {
  ScratchDir dir;
  make_image(dir);
  std::atomic<bool> stop{true};
  WriteOptions options;
  options.stop = &stop;
  auto report = engine_write(dir / "img.qcow2", {{dir / "a.raw"}}, options);
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_TRUE(report->interrupted);
  EXPECT_LT(report->targets[0].bytes, kSize);
}

TEST(EngineTargets, StopMidRunDrainsAndFlushes) {
  ScratchDir dir;
  make_image(dir);
  std::atomic<bool> stop{false};
  WriteOptions options;
  options.memory = 1u << 20;  // small chunks, few in flight
  options.stop = &stop;
  options.progress = [&](const std::vector<TargetProgress>&) { stop = true; };
  auto report = engine_write(dir / "img.qcow2", {{dir / "a.raw"}, {dir / "b.raw"}}, options);
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_TRUE(report->interrupted);
  for (const auto& r : report->targets) {
    EXPECT_TRUE(r.status.ok());
    EXPECT_LT(r.bytes, kSize);
  }
}

TEST(EngineTargets, ProgressIsReportedToTheEnd) {
  ScratchDir dir;
  make_image(dir);
  std::vector<TargetProgress> last;
  WriteOptions options;
  options.progress = [&](const std::vector<TargetProgress>& p) { last = p; };
  auto report = engine_write(dir / "img.qcow2", {{dir / "a.raw"}, {dir / "b.raw"}}, options);
  ASSERT_TRUE(report) << report.error().message;
  ASSERT_EQ(last.size(), 2u);
  for (const auto& p : last) {
    EXPECT_EQ(p.done, kSize);
    EXPECT_EQ(p.total, kSize);
    EXPECT_FALSE(p.failed);
  }
}

TEST(EngineTargets, CorruptCompressedClusterFailsTheRunNamingTheGuestOffset) {
  ScratchDir dir;
  make_image(dir);
  // The stream of the cluster at 3 MiB (real program bytes, so compressed),
  // found through the L1 and L2 tables: qemu-img map hides its host offset.
  const uint64_t guest = 3u << 20;
  const uint64_t l1 = read_be64(dir / "img.qcow2", 40);
  const uint64_t l2 = read_be64(dir / "img.qcow2", l1) & 0x00fffffffffffe00ull;
  const uint64_t entry = read_be64(dir / "img.qcow2", l2 + guest / 65536 * 8);
  ASSERT_TRUE(entry >> 62 & 1) << "the cluster at 3 MiB should be compressed";
  const uint64_t host = entry & ((1ull << 54) - 1);  // 64 KiB clusters: 54 offset bits
  patch_file(dir / "img.qcow2", host, std::vector<uint8_t>(64, 0xa5));
  auto report = engine_write(dir / "img.qcow2", {{dir / "a.raw"}, {dir / "b.raw"}});
  ASSERT_TRUE(report) << report.error().message;
  ASSERT_FALSE(report->error.ok());
  const std::string msg = report->error.error().message;
  EXPECT_NE(msg.find("guest offset " + std::to_string(guest)), std::string::npos) << msg;
  // Every target is failed, with the bytes that reached it counted, and its
  // first MiB was never written (a file keeps a hole there).
  for (const auto& r : report->targets) {
    EXPECT_FALSE(r.status.ok());
    EXPECT_FALSE(r.complete);
    EXPECT_FALSE(r.sha256.has_value());
  }
  const auto head = read_range(dir / "a.raw", 0, 1u << 20);
  EXPECT_EQ(std::count(head.begin(), head.end(), 0), ptrdiff_t(head.size()));
}

}  // namespace
}  // namespace qflash::test
