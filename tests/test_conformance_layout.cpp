// Plain QCOW2 layouts against qemu-img: every cluster size, v2 and v3, odd
// virtual sizes, random data patterns, lazy refcounts and the dirty bit.
#include <gtest/gtest.h>

#include "tests/support/compare.h"

namespace qflash::test {
namespace {

class ClusterSize : public ::testing::TestWithParam<const char*> {};

TEST_P(ClusterSize, DataZeroAndUnallocatedClusters) {
  ScratchDir dir;
  const std::string img = dir / "a.qcow2";
  qcow2_create(img, "9M", std::string("cluster_size=") + GetParam());
  // Runs that start and end inside clusters, cross L2 tables (512 B clusters
  // have 64 entries per table), and a zero run over data.
  qemu_io(img, {"write -P 0x5a 0 1M", "write -P 0x11 3000k 100k", "write -z 512k 64k",
                "write -P 0x77 8M 4608", "write -z 6M 1M"});
  expect_like_qemu(img, dir);
}

INSTANTIATE_TEST_SUITE_P(Conformance, ClusterSize,
                         ::testing::Values("512", "4k", "64k", "2M"),
                         [](const auto& info) { return std::string("c") + info.param; });

TEST(Layout, Version2ZeroWritesAllocateZeroData) {
  ScratchDir dir;
  const std::string img = dir / "v2.qcow2";
  qcow2_create(img, "4M", "compat=0.10");
  qemu_io(img, {"write -P 0x12 0 64k", "write -z 128k 64k", "write -P 0 1M 64k"});
  EXPECT_EQ(must("od -An -tx1 -j4 -N4 " + img), " 00 00 00 02\n");
  expect_like_qemu(img, dir);
}

TEST(Layout, Version3ZeroFlagClusters) {
  ScratchDir dir;
  const std::string img = dir / "v3.qcow2";
  qcow2_create(img, "4M", "compat=1.1");
  qemu_io(img, {"write -P 0x12 0 256k", "write -z 64k 64k", "write -z 2M 128k"});
  expect_like_qemu(img, dir);
}

class OddSize : public ::testing::TestWithParam<uint64_t> {};

TEST_P(OddSize, RoundedAndTailCluster) {
  ScratchDir dir;
  const std::string img = dir / "odd.qcow2";
  const uint64_t size = GetParam();
  qcow2_create(img, std::to_string(size));
  // qemu rounds the size up to 512 bytes; write the last sector.
  const uint64_t rounded = (size + 511) / 512 * 512;
  qemu_io(img, {"write -P 0x3c 0 512", "write -P 0x3d " + std::to_string(rounded - 512) + " 512"});
  expect_like_qemu(img, dir);
}

INSTANTIATE_TEST_SUITE_P(Conformance, OddSize,
                         ::testing::Values(1000, 7 * 1024 * 1024 + 512, 65536 + 512, 1, 512),
                         [](const auto& info) { return "bytes" + std::to_string(info.param); });

TEST(Layout, EmptyDisk) {
  ScratchDir dir;
  const std::string img = dir / "empty.qcow2";
  qcow2_create(img, "0");
  expect_like_qemu(img, dir);
  EXPECT_EQ(qflash_map(img), "[{ \"start\": 0, \"length\": 0, \"depth\": 0, \"present\": false, "
                             "\"zero\": false, \"data\": false}]\n");
}

TEST(Layout, ExtendedL2SmallestAndLargestClusters) {
  ScratchDir dir;
  for (const char* cs : {"16k", "2M"}) {
    const std::string img = dir / (std::string("x") + cs + ".qcow2");
    qcow2_create(img, "9M", std::string("extended_l2=on,cluster_size=") + cs);
    qemu_io(img, {"write -P 1 512 512", "write -z 1536 512", "write -P 2 100k 64k",
                  "write -z 3M 128k", "write -c -P 3 6M 2M"});
    expect_like_qemu(img, dir);
  }
}

TEST(Layout, RandomPatterns) {
  ScratchDir dir;
  const std::string img = dir / "p.qcow2";
  qcow2_create(img, "16M", "cluster_size=16k");
  // qemu-io -P fills with a byte; many different bytes at scattered,
  // unaligned offsets make a misplaced cluster visible.
  std::vector<std::string> cmds;
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (int i = 0; i < 40; ++i) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    const uint64_t off = (x % (16u << 20)) & ~uint64_t{511};
    const uint64_t len = std::min<uint64_t>(512 * (1 + x % 97), (16u << 20) - off);
    cmds.push_back("write -P " + std::to_string(1 + x % 255) + " " + std::to_string(off) + " " +
                   std::to_string(len));
  }
  qemu_io(img, cmds);
  expect_like_qemu(img, dir);
}

TEST(Layout, LazyRefcounts) {
  ScratchDir dir;
  const std::string img = dir / "lazy.qcow2";
  qcow2_create(img, "4M", "lazy_refcounts=on");
  qemu_io(img, {"write -P 0x44 0 64k", "write -P 0x45 1M 3k"});
  expect_like_qemu(img, dir);
}

TEST(Layout, DirtyBitIsReadable) {
  ScratchDir dir;
  const std::string img = dir / "dirty.qcow2";
  qcow2_create(img, "4M", "lazy_refcounts=on");
  qemu_io(img, {"write -P 0x44 0 64k"});
  patch_be64(img, 72, 1);  // incompatible_features: dirty
  EXPECT_NE(must(qflash_bin() + " info --output=json " + img).find("\"dirty\""),
            std::string::npos);
  expect_like_qemu(img, dir);
}

TEST(Layout, CorruptBitIsReadableLikeQemuReadOnly) {
  ScratchDir dir;
  const std::string img = dir / "corrupt.qcow2";
  qcow2_create(img, "4M");
  qemu_io(img, {"write -P 0x46 64k 64k"});
  patch_be64(img, 72, 2);  // incompatible_features: corrupt
  expect_like_qemu(img, dir);
}

TEST(Layout, UnalignedVirtualSizeKeepsWholeSectors) {
  ScratchDir dir;
  const std::string img = dir / "u.qcow2";
  qcow2_create(img, "1M");
  qemu_io(img, {"write -P 0x47 0 1M"});
  patch_be64(img, 24, 1048321);  // qemu reads 1048064 bytes of it
  expect_like_qemu(img, dir);
}

TEST(Layout, InternalSnapshotsActiveStateIsRead) {
  ScratchDir dir;
  const std::string img = dir / "snap.qcow2";
  qcow2_create(img, "4M");
  qemu_io(img, {"write -P 1 0 1M"});
  must("qemu-img snapshot -c first " + img);
  qemu_io(img, {"write -P 2 512k 1M", "write -z 0 64k"});
  must("qemu-img snapshot -c second " + img);
  qemu_io(img, {"write -P 3 3M 64k"});
  expect_like_qemu(img, dir);
  // The active state, not a snapshot: 64 KiB of zeros, then 1, then 2.
  EXPECT_EQ(must(qflash_bin() + " read --offset 65536 --length 1 " + img), "\x01");
  EXPECT_EQ(must(qflash_bin() + " read --offset 524288 --length 1 " + img), "\x02");
}

}  // namespace
}  // namespace qflash::test
