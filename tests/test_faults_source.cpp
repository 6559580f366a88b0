// Faults on the image being read: read errors from the drive under it, the
// file truncated or rewritten mid-run. Each must end the run with a message
// naming the image, never hang, never finish with a wrong byte.
#include <gtest/gtest.h>

#include <unistd.h>

#include "tests/support/child.h"
#include "tests/support/fault_disk.h"
#include "tests/support/mass_support.h"
#include "tests/support/support.h"

namespace qflash::test {
namespace {

constexpr uint64_t kMiB = 1u << 20;

std::string random_image(const ScratchDir& dir, const std::string& img, uint64_t mib) {
  const std::string raw = dir / "src.raw";
  must("dd if=/dev/urandom of=" + quote(raw) + " bs=1M count=" + std::to_string(mib) +
       " iflag=fullblock status=none");
  must("qemu-img convert -q -f raw -O qcow2 " + quote(raw) + " " + quote(img));
  qemu_raw(img, dir / "want.raw");
  return img;
}

class FaultsSource : public ::testing::Test {
 protected:
  void SetUp() override {
    if (auto why = FaultDisk::unavailable(); !why.empty()) GTEST_SKIP() << why;
  }
};

// Writes an image whose reads past 6 MiB fail, with `memory` options.
void expect_read_error_caught(const std::string& memory) {
  ScratchDir dir;
  // The image's bytes are the drive's bytes; reads past 6 MiB of it fail.
  const std::string backing = dir / "src.img";
  random_image(dir, backing, 12);
  const uint64_t size = (fs::file_size(backing) + kMiB - 1) / kMiB * kMiB;
  FaultDisk disk(dir.path(), "src", size, {.read_error_from = int64_t(6 * kMiB)});
  ASSERT_FALSE(disk.path().empty());

  // With a small buffer budget chunks are written before the read fails.
  ChildResult r = run_child(qflash_bin() + " write " + memory + disk.path() + " " + quote(dir / "out.raw"));
  ASSERT_FALSE(r.hung);
  // Exit 1 if it failed before any byte reached the target, else 2 with the
  // bytes that did, exactly (the source failed, not the target).
  auto reached = expect_run_failed(r, {disk.path(), "Input/output error"});
  if (!reached.empty()) expect_reported_bytes_on(dir / "want.raw", dir / "out.raw", reached[0]);
}

TEST_F(FaultsSource, ReadErrorUnderTheImageFailsCleanly) { expect_read_error_caught(""); }

TEST_F(FaultsSource, ReadErrorAfterWritesBeganFailsCleanly) { expect_read_error_caught("--memory=2M "); }

// Runs `qflash write` of a 48 MiB image onto a slow drive and does `act` to
// the image a moment in; the run must fail with a message naming the image.
void expect_source_change_caught(const std::function<void(const std::string&)>& act,
                                 const std::string& what) {
  ScratchDir dir;
  const std::string img = random_image(dir, dir / "src.qcow2", 48);
  FaultDisk slow(dir.path(), "slow", 48 * kMiB, {.delay_ms = 12});
  ASSERT_FALSE(slow.path().empty());
  ChildResult r = run_child(qflash_bin() + " write --yes " + quote(img) + " " + slow.path(),
                            {.act_after = 0.3, .act = [&](pid_t) { act(img); }});
  ASSERT_FALSE(r.hung);
  SCOPED_TRACE(what);
  expect_run_failed(r, {img});
  EXPECT_GT(r.seconds, 0.3) << "the run ended before the image was " << what;
}

TEST_F(FaultsSource, ImageTruncatedWhileBeingRead) {
  expect_source_change_caught(
      [](const std::string& img) { ASSERT_EQ(::truncate(img.c_str(), 2 * kMiB), 0); },
      "truncated");
}

TEST_F(FaultsSource, ImageRewrittenWhileBeingRead) {
  // Clusters already read and clusters not yet read both change: finishing
  // would leave a mix of the old and the new image on the target.
  expect_source_change_caught(
      [](const std::string& img) {
        must("qemu-io -f qcow2 -c 'write -P 0x77 0 1M' -c 'write -P 0x77 40M 1M' " + quote(img));
      },
      "rewritten");
}

}  // namespace
}  // namespace qflash::test
