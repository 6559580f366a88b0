// Faults on the targets, on drives that fail or crawl on purpose (FaultDisk:
// device-mapper `error` and `delay` semantics): a failing drive among good
// ones is dropped with the offset where it failed and the others finish
// byte-exact; a slow drive sets the pace without the memory growing.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <regex>
#include <thread>

#include "tests/support/child.h"
#include "tests/support/fault_disk.h"
#include "tests/support/mass_support.h"
#include "tests/support/support.h"

namespace qflash::test {
namespace {

constexpr uint64_t kMiB = 1u << 20;

// A QCOW2 image of `mib` MiB of random data (with a zero run and a hole).
std::string random_image(const ScratchDir& dir, uint64_t mib) {
  const std::string raw = dir / "src.raw", img = dir / "src.qcow2";
  must("dd if=/dev/urandom of=" + quote(raw) + " bs=1M count=" + std::to_string(mib) +
       " iflag=fullblock status=none");
  must("qemu-img convert -q -f raw -O qcow2 " + quote(raw) + " " + quote(img));
  must("qemu-io -f qcow2 -c 'write -z 1M 1M' -c 'discard 3M 1M' " + quote(img));
  qemu_raw(img, dir / "want.raw");
  return img;
}

// The line of a --json report about `path`.
std::string report_line(const std::string& json, const std::string& path) {
  size_t at = json.find("\"path\": \"" + path + "\"");
  if (at == std::string::npos) return "";
  size_t begin = json.rfind('\n', at) + 1;
  return json.substr(begin, json.find('\n', at) - begin);
}

class FaultsTargets : public ::testing::Test {
 protected:
  void SetUp() override {
    if (auto why = FaultDisk::unavailable(); !why.empty()) GTEST_SKIP() << why;
    if (::access(qflash_mass_bin().c_str(), X_OK) != 0) GTEST_SKIP() << "no qflash-mass";
  }
};

TEST_F(FaultsTargets, FailingDriveIsDroppedWithItsOffsetOthersFinishExact) {
  ScratchDir dir;
  const uint64_t size = 24 * kMiB, fail_at = 9 * kMiB + 4096;
  const std::string img = random_image(dir, 24);
  FaultDisk good(dir.path(), "good", size, {});
  FaultDisk bad(dir.path(), "bad", size, {.write_error_from = int64_t(fail_at)});
  const std::string file = dir / "file.raw";
  ASSERT_FALSE(good.path().empty());
  ASSERT_FALSE(bad.path().empty());

  ChildResult r = run_child(qflash_mass_bin() + " --yes --json " + quote(img) + " " +
                            good.path() + " " + bad.path() + " " + quote(file));
  ASSERT_FALSE(r.hung);
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_EQ(first_difference(dir / "want.raw", good.backing()), -1);
  EXPECT_EQ(first_difference(dir / "want.raw", file), -1);

  // Dropped with the offset of the lowest failed write, which holds the
  // fault (writes are at most one 4 MiB chunk); what it reports as written
  // lies before the fault and is right.
  const std::string line = report_line(r.out, bad.path());
  EXPECT_NE(line.find("\"status\": \"failed\""), std::string::npos) << r.out;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(line, m, std::regex("\"bytes\": ([0-9]+).* at ([0-9]+)"))) << line;
  const uint64_t bytes = std::stoull(m[1]), offset = std::stoull(m[2]);
  EXPECT_LE(bytes, fail_at) << line;
  EXPECT_LE(offset, fail_at) << line;
  EXPECT_GT(offset + 4 * kMiB, fail_at) << line;
  // Its first MiB, kept back to be written last, never was: the drive does
  // not boot half written.
  expect_reported_bytes_on(dir / "want.raw", bad.backing(), bytes, /*at_least=*/true);
  EXPECT_NE(r.err.find(bad.path()), std::string::npos) << r.err;
  EXPECT_NE(report_line(r.out, good.path()).find("\"status\": \"ok\""), std::string::npos) << r.out;
}

TEST_F(FaultsTargets, SlowDriveSetsThePaceWithoutMemoryGrowing) {
  ScratchDir dir;
  const uint64_t mib = 64, memory_mib = 16;
  const std::string img = random_image(dir, mib);
  FaultDisk slow(dir.path(), "slow", mib * kMiB, {.delay_ms = 30});
  FaultDisk fast(dir.path(), "fast", mib * kMiB, {});
  ASSERT_FALSE(slow.path().empty());

  ChildResult r = run_child(qflash_mass_bin() + " --yes --memory=" + std::to_string(memory_mib) +
                            "M " + quote(img) + " " + slow.path() + " " + fast.path());
  ASSERT_FALSE(r.hung);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(first_difference(dir / "want.raw", slow.backing()), -1);
  EXPECT_EQ(first_difference(dir / "want.raw", fast.backing()), -1);
  // Buffering for the slow drive would hold most of the image; the budget
  // plus the program itself is all it may take.
  std::printf("slow drive: %.1f s, peak RSS %ld KiB for a %lu MiB image, --memory=%luM\n",
              r.seconds, r.max_rss_kib, (unsigned long)mib, (unsigned long)memory_mib);
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)  // their shadow memory counts in the RSS
  EXPECT_LT(r.max_rss_kib, long(memory_mib + 48) * 1024);
#endif
}

// A drive that waits for the source (a pipe that pauses) is flushed while
// it waits, not only at the end: the work of the last flush (the drive's
// cache, a file system's allocations under a file or loop device) is done
// at the run's pace. The image: 100 MiB, then a pause until the drive saw a
// flush (at most 20 s, however slow the build), then 60 MiB more.
TEST_F(FaultsTargets, DriveWaitingForTheSourceIsFlushedMeanwhile) {
  ScratchDir dir;
  const uint64_t size = 160 * kMiB;
  const std::string raw = dir / "src.raw", fifo = dir / "pipe";
  must("dd if=/dev/urandom of=" + quote(raw) + " bs=1M count=160 iflag=fullblock status=none");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  FaultDisk disk(dir.path(), "disk", size, {.log_flushes = true});
  ASSERT_FALSE(disk.path().empty());
  std::thread feeder([&] {
    const auto bytes = read_file(raw);
    std::FILE* out = std::fopen(fifo.c_str(), "w");  // once qflash opens it
    if (!out) return;
    std::fwrite(bytes.data(), 1, 100 * kMiB, out);
    std::fflush(out);
    auto flushed_meanwhile = [&] {
      auto f = disk.flushes();
      return std::any_of(f.begin(), f.end(), [](uint64_t b) { return b >= 64 * kMiB; });
    };
    for (int i = 0; i < 2000 && !flushed_meanwhile(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::fwrite(bytes.data() + 100 * kMiB, 1, 60 * kMiB, out);
    std::fclose(out);
  });
  ChildResult r = run_child("sh -c " + quote(qflash_bin() + " write --yes --image-size=160M - " +
                                             disk.path() + " <" + quote(fifo)));
  feeder.join();
  ASSERT_FALSE(r.hung);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(first_difference(raw, disk.backing()), -1);
  auto flushes = disk.flushes();
  ASSERT_GE(flushes.size(), 2u) << testing::PrintToString(flushes);
  // One while it waited (after at least 64 MiB, before the rest came), and
  // the last one after every byte.
  EXPECT_TRUE(std::any_of(flushes.begin(), flushes.end(),
                          [](uint64_t b) { return b >= 64 * kMiB && b <= 100 * kMiB; }))
      << testing::PrintToString(flushes);
  EXPECT_EQ(flushes.back(), size) << testing::PrintToString(flushes);
}

}  // namespace
}  // namespace qflash::test
