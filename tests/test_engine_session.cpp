// WriteSession: targets joining a running engine, a slow drive not holding
// the fast ones, memory bounded whatever the number of targets, the first
// MiB written last (zeroed on a digest mismatch), --wipe-rest.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>

#include "engine/write/mass_writer.h"
#include "tests/support/fault_disk.h"
#include "tests/support/engine_run.h"
#include "tests/support/loop_device.h"
#include "tests/support/mass_support.h"
#include "tests/support/support.h"

namespace qflash::test {
namespace {

using Clock = std::chrono::steady_clock;
constexpr uint64_t kMiB = 1u << 20;

// An image of `mib` MiB with data, zeros and holes (compressed unless the
// test needs none); its raw bytes in want.raw.
void make_image(const ScratchDir& dir, uint64_t mib, bool compressed = true) {
  make_mixed_raw(dir / "src.raw", mib * kMiB);
  must("qemu-img convert -f raw -O qcow2 " + std::string(compressed ? "-c " : "") + quote(dir / "src.raw") + " " +
       quote(dir / "img.qcow2"));
  qemu_raw(dir / "img.qcow2", dir / "want.raw");
}

WriteTarget open_whole(const std::string& path, uint64_t size) {
  auto t = open_target(path, size, {.allow_block_device = true});
  EXPECT_TRUE(t.ok()) << t.error().message;
  return {std::move(t).value(), 0, size};
}

TEST(EngineSession, TargetsJoinARunningEngine) {
  ScratchDir dir;
  make_image(dir, 12);
  auto chain = Chain::open(dir / "img.qcow2");
  ASSERT_TRUE(chain.ok());
  const uint64_t size = chain->size();
  WriteOptions options;
  options.memory = 2 * kMiB;  // small chunks: the first target is mid-run when the next joins
  std::atomic<int> joined{1};
  std::unique_ptr<WriteSession> session;
  // The second target joins from the first progress report; the third once
  // the first is done, and then the session closes.
  options.progress = [&](const std::vector<TargetProgress>&) {
    if (joined == 1) {
      joined = 2;
      session->add(open_whole(dir / "b.raw", size));
    }
  };
  options.on_target_done = [&](size_t id, const TargetResult& r) {
    EXPECT_TRUE(r.complete) << id;
    if (id == 0) {
      joined = 3;
      session->add(open_whole(dir / "c.raw", size));
      session->close();
    }
  };
  auto created = WriteSession::create(*chain, options);
  ASSERT_TRUE(created.ok()) << created.error().message;
  session = std::move(created).value();
  session->add(open_whole(dir / "a.raw", size));
  auto report = session->run();
  ASSERT_TRUE(report.ok()) << report.error().message;
  ASSERT_EQ(report->targets.size(), 3u);
  for (const char* name : {"a.raw", "b.raw", "c.raw"}) EXPECT_EQ(first_difference(dir / "want.raw", dir / name), -1) << name;
  for (const auto& r : report->targets) EXPECT_TRUE(r.complete && r.sha256);
  EXPECT_EQ(report->targets[0].sha256, report->targets[2].sha256);
}

TEST(EngineSession, SlowDriveDoesNotHoldTheFastOnes) {
  if (auto why = FaultDisk::unavailable(); !why.empty()) GTEST_SKIP() << why;
  ScratchDir dir;
  make_image(dir, 16);
  auto chain = Chain::open(dir / "img.qcow2");
  ASSERT_TRUE(chain.ok());
  const uint64_t size = chain->size();
  FaultDisk slow(dir.path(), "slow", 32 * kMiB, {.delay_ms = 20});
  ASSERT_FALSE(slow.path().empty());
  std::vector<WriteTarget> targets;
  targets.push_back(open_whole(slow.path(), size));
  targets.push_back(open_whole(dir / "a.raw", size));
  targets.push_back(open_whole(dir / "b.raw", size));
  std::vector<double> finished(3, 0);
  const auto t0 = Clock::now();
  WriteOptions options;
  options.memory = 8 * kMiB;  // far less than the image: the slow drive falls out of the window
  options.on_target_done = [&](size_t id, const TargetResult&) {
    finished[id] = std::chrono::duration<double>(Clock::now() - t0).count();
  };
  auto report = write_image(*chain, targets, options);
  ASSERT_TRUE(report.ok()) << report.error().message;
  for (const auto& r : report->targets) EXPECT_TRUE(r.complete) << r.path;
  EXPECT_LT(std::max(finished[1], finished[2]) * 2, finished[0])
      << "fast " << finished[1] << " s, " << finished[2] << " s; slow " << finished[0] << " s";
  EXPECT_EQ(first_difference(dir / "want.raw", dir / "a.raw"), -1);
  EXPECT_EQ(first_difference(dir / "want.raw", dir / "b.raw"), -1);
  EXPECT_EQ(Sha256::hex(*report->targets[0].sha256), Sha256::hex(*report->targets[1].sha256));
  auto v = must("cmp -n " + std::to_string(size) + " " + quote(dir / "want.raw") + " " + quote(slow.backing()) +
                " && echo same");
  EXPECT_EQ(v, "same\n");
}

// Peak RSS of a qflash-mass run onto `count` file targets.
long peak_rss_kib(const ScratchDir& dir, int count) {
  std::string cmd = "/usr/bin/time -f %M " + qflash_mass_bin() + " --memory=16M " + quote(dir / "img.qcow2");
  for (int i = 0; i < count; ++i) cmd += " " + quote(dir / ("t" + std::to_string(i) + ".raw"));
  auto r = run("(" + cmd + " 2>&1 >/dev/null | tail -1)");
  EXPECT_EQ(r.status, 0) << r.out;
  return std::atol(r.out.c_str());
}

TEST(EngineSession, MemoryStaysBoundedWithManyTargets) {
  ScratchDir dir;
  make_image(dir, 16);
  const long one = peak_rss_kib(dir, 1);
  const long many = peak_rss_kib(dir, 16);
  // 16 targets share the same 16 MiB of buffers; each adds only its state
  // (and the kernel's per-file bookkeeping), far less than a chunk.
#if !defined(__SANITIZE_THREAD__)  // its shadow memory grows with the threads' work
  EXPECT_LT(many, one + 16 * 1024) << "1 target: " << one << " KiB, 16 targets: " << many << " KiB";
#else
  (void)one;
  (void)many;
#endif
  for (int i = 0; i < 16; ++i)
    ASSERT_EQ(first_difference(dir / "want.raw", dir / ("t" + std::to_string(i) + ".raw")), -1) << i;
}

// The buffer pool is half of --memory, but one target keeps only so many
// chunks in flight: the slots it needs are reused while their pages are in,
// and the rest of the pool is never touched (fresh pages cost a fault and a
// clear each, a visible share of a short run).
TEST(EngineSession, PoolTouchedOnlyAsDeepAsTheRunNeeds) {
  ScratchDir dir;
  must("dd if=/dev/urandom of=" + quote(dir / "disk.raw") + " bs=1M count=192 status=none");
  auto r = run("/usr/bin/time -f %M -o " + quote(dir / "rss") + " " + qflash_bin() +
               " write --yes --memory=256M " + quote(dir / "disk.raw") + " " + quote(dir / "out.raw"));
  ASSERT_EQ(r.status, 0) << r.err;
  const auto rss = read_file(dir / "rss");
  const long kib = std::atol(std::string(rss.begin(), rss.end()).c_str());
  std::printf("peak RSS %ld KiB\n", kib);
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)  // their shadow memory counts in the RSS
  // 128 MiB of pool; 16 chunks of 4 MiB in flight, plus the program.
  EXPECT_LT(kib, 112 * 1024) << "peak RSS " << kib << " KiB";
#endif
  EXPECT_EQ(first_difference(dir / "disk.raw", dir / "out.raw"), -1);
}

TEST(EngineSession, DigestMismatchLeavesFirstMiBZeroOnEveryTarget) {
  ScratchDir dir;
  make_image(dir, 8, false);
  std::vector<std::unique_ptr<LoopDevice>> loops;
  std::string targets;
  for (int i = 0; i < 2; ++i) {
    const std::string f = dir / ("d" + std::to_string(i) + ".img");
    write_file(f, std::vector<uint8_t>(16 * kMiB, 0xff));  // a dirty drive
    loops.push_back(std::make_unique<LoopDevice>(f, LoopOptions{.required = true}));
    ASSERT_TRUE(loops.back()->ok());
    targets += " " + loops.back()->path();
  }
  auto r = run(qflash_mass_bin() + " --yes --json --sha256=" + std::string(64, 'a') + " " +
               quote(dir / "img.qcow2") + targets);
  EXPECT_NE(r.status, 0);
  EXPECT_EQ(json_query(r.out, "[(t['status'], t['sha256']) for t in d['targets']], 'SHA-256' in d['error']"),
            "[('failed', None), ('failed', None)] True");
  for (int i = 0; i < 2; ++i) {
    const auto head = read_range(dir / ("d" + std::to_string(i) + ".img"), 0, kMiB);
    EXPECT_EQ(std::count(head.begin(), head.end(), 0), ptrdiff_t(kMiB)) << "target " << i;
  }
  // The right digest: written, first MiB included.
  const std::string sum = must("sha256sum " + quote(dir / "img.qcow2")).substr(0, 64);
  r = run(qflash_mass_bin() + " --yes --json --sha256=" + sum + " " + quote(dir / "img.qcow2") + targets);
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(json_query(r.out, "d['image_sha256']"), sum);
  for (const auto& l : loops)
    EXPECT_EQ(must("cmp -n 8388608 " + quote(dir / "want.raw") + " " + l->path() + " && echo same"), "same\n");
}

TEST(EngineSession, WipeRestZeroesPastTheImageAndMakesSparseSafe) {
  ScratchDir dir;
  make_image(dir, 8, false);
  write_file(dir / "d.img", std::vector<uint8_t>(16 * kMiB, 0xff));
  LoopDevice loop(dir / "d.img", {.required = true});
  ASSERT_TRUE(loop.ok());
  // --sparse alone leaves the old bytes in zero runs and past the image.
  auto r = run(qflash_bin() + " write --yes --sparse " + quote(dir / "img.qcow2") + " " + loop.path());
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(must("cmp -n 8388608 " + quote(dir / "want.raw") + " " + loop.path() + " >/dev/null; echo $?"), "0\n");
  r = run(qflash_bin() + " write --yes --sparse --wipe-rest --json " + quote(dir / "img.qcow2") + " " + loop.path());
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(json_query(r.out, "d['targets'][0]['bytes']"), "8388608");
  EXPECT_EQ(must("cmp -n 8388608 " + quote(dir / "want.raw") + " " + loop.path() + " && echo same"), "same\n");
  const auto rest = read_range(dir / "d.img", 8 * kMiB, 8 * kMiB);
  EXPECT_EQ(std::count(rest.begin(), rest.end(), 0), ptrdiff_t(8 * kMiB));
}

}  // namespace
}  // namespace qflash::test
