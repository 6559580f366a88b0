// qflash write onto a block device (a loop device over a sparse file): with
// --yes it writes the virtual disk; without --yes and without a terminal it
// refuses and leaves the device alone.
#include <gtest/gtest.h>

#include "tests/support/compare.h"
#include "tests/support/loop_device.h"

namespace qflash::test {
namespace {

// A sparse file of `size` bytes to put a loop device on.
std::string sparse_file(const std::string& path, uint64_t size) {
  must("truncate -s " + std::to_string(size) + " " + quote(path));
  return path;
}


class WriteDevice : public ::testing::Test {
 protected:
  void SetUp() override {
    qcow2_create(img, "4M", "compression_type=zstd");
    qemu_io(img, {"write -c -P 0x61 0 1M", "write -P 0x62 2M 64k", "write -z 3M 64k"});
    qemu_raw(img, dir / "want.raw");
  }
  // The first `n` bytes of the device.
  std::string head(const std::string& dev, uint64_t n) {
    return must("dd if=" + quote(dev) + " bs=64k count=" + std::to_string(n / 65536) +
                " status=none");
  }
  ScratchDir dir;
  const std::string img = dir / "a.qcow2";
};

TEST_F(WriteDevice, WithYesWritesTheVirtualDisk) {
  LoopDevice loop(sparse_file(dir / "backing.img", 8u << 20));
  if (loop.path().empty()) GTEST_SKIP() << "no loop device available";
  // Known bytes everywhere first, so zero runs of the image must be written.
  must("dd if=/dev/zero bs=1M count=8 status=none | tr '\\0' '\\377' | dd of=" + loop.path() +
       " bs=1M oflag=direct status=none");
  CommandResult r = run(qflash_bin() + " write --yes " + img + " " + loop.path());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(head(loop.path(), 4u << 20) == must("cat " + (dir / "want.raw")))
      << "the device does not hold the virtual disk";
}

TEST_F(WriteDevice, WithoutYesAndWithoutTerminalRefuses) {
  LoopDevice loop(sparse_file(dir / "backing.img", 8u << 20));
  if (loop.path().empty()) GTEST_SKIP() << "no loop device available";
  must("dd if=/dev/zero bs=1M count=8 status=none | tr '\\0' '\\252' | dd of=" + loop.path() +
       " bs=1M oflag=direct status=none");
  const std::string before = head(loop.path(), 8u << 20);
  CommandResult r = run(qflash_bin() + " write " + img + " " + loop.path());
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("--yes"), std::string::npos) << r.err;
  EXPECT_TRUE(head(loop.path(), 8u << 20) == before) << "the device was written";
}

TEST_F(WriteDevice, DeviceTooSmallIsRefused) {
  LoopDevice loop(sparse_file(dir / "backing.img", 2u << 20));
  if (loop.path().empty()) GTEST_SKIP() << "no loop device available";
  CommandResult r = run(qflash_bin() + " write --yes " + img + " " + loop.path());
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find(loop.path()), std::string::npos) << r.err;
}

}  // namespace
}  // namespace qflash::test
