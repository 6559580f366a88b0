// Malformed L1/L2 tables and clusters: refused by validation before the
// first write; a corrupt compressed stream, which only decoding can see,
// fails the write naming the guest offset.
#include <gtest/gtest.h>

#include "tests/support/compare.h"
#include "io/base/text.h"
#include "tests/support/refusal.h"

namespace qflash::test {
namespace {

constexpr uint64_t kCopied = 1ull << 63, kCompressed = 1ull << 62;
constexpr uint64_t kOffsetMask = 0x00fffffffffffe00ull;

// Offset of the first L2 table of a QCOW2 file (from L1[0]).
uint64_t first_l2(const std::string& img) {
  return read_be64(img, read_be64(img, 40)) & kOffsetMask;
}

class MalformedTables : public ::testing::Test {
 protected:
  void SetUp() override {
    qcow2_create(img, "4M");
    qemu_io(img, {"write -P 0x5a 0 128k", "write -P 0x5b 1M 64k"});
    l1 = read_be64(img, 40);
    l2 = first_l2(img);
  }
  ScratchDir dir;
  const std::string img = dir / "bad.qcow2";
  uint64_t l1 = 0, l2 = 0;
};

TEST_F(MalformedTables, L2OffsetPastEof) {
  patch_be64(img, l1, kCopied | (1ull << 40));
  expect_refused(img, {"L2 table at 0x10000000000", "past the end of the file"});
}

TEST_F(MalformedTables, L2TableCutShortByEndOfFile) {
  // A table that starts inside the file and runs past its end: 32 KiB of
  // the 64 KiB table are there.
  const uint64_t end = fs::file_size(img);
  fs::resize_file(img, end + 32768);
  patch_be64(img, l1, kCopied | end);
  expect_refused(img, {"L2 table at " + hex(end), "cut short by the end of the file at " +
                       hex(end + 32768)});
}

TEST_F(MalformedTables, L2OffsetUnaligned) {
  patch_be64(img, l1, kCopied | (l2 + 512));
  expect_refused(img, {"L2 table offset", "not cluster-aligned"});
}

TEST_F(MalformedTables, DataClusterPastEof) {
  // The second cluster (guest 64 KiB) points far past the end.
  patch_be64(img, l2 + 8, kCopied | (1ull << 40));
  expect_refused(img, {"data cluster at 0x10000000000", "past the end", "guest offset 65536"});
}

TEST_F(MalformedTables, DataClusterUnaligned) {
  patch_be64(img, l2 + 16 * 8, (read_be64(img, l2 + 16 * 8) + 512));
  expect_refused(img, {"not cluster-aligned", "guest offset 1048576"});
}

TEST_F(MalformedTables, DataClusterInsideLaterL2Table) {
  // A 1 GiB disk with 64 KiB clusters has two L2 tables; break the second.
  const std::string big = dir / "big.qcow2";
  qcow2_create(big, "1G");
  qemu_io(big, {"write -P 1 0 64k", "write -P 2 1000M 64k"});
  const uint64_t l2b = read_be64(big, read_be64(big, 40) + 8) & kOffsetMask;
  ASSERT_NE(l2b, 0u);
  const uint64_t i = (1000ull << 20) % (512ull << 20) >> 16;
  patch_be64(big, l2b + i * 8, kCopied | (1ull << 45));
  expect_refused(big, {"past the end", "guest offset 1048576000"});
}

TEST(MalformedCompressed, CompressedClusterPastEof) {
  ScratchDir dir;
  const std::string img = dir / "c.qcow2";
  qcow2_create(img, "1M");
  qemu_io(img, {"write -c -P 0x21 0 64k", "write -c -P 0x22 64k 64k"});
  const uint64_t l2 = first_l2(img);
  const uint64_t e = read_be64(img, l2 + 8);
  ASSERT_TRUE(e & kCompressed);
  // Keep the sector count, move the stream to 1 TiB.
  const unsigned shift = 62 - (16 - 8);
  patch_be64(img, l2 + 8, (e & ~((1ull << shift) - 1)) | (1ull << 40));
  expect_refused(img, {"compressed cluster at 0x10000000000", "past the end", "guest offset 65536"});
}

class CorruptStream : public ::testing::TestWithParam<const char*> {};

TEST_P(CorruptStream, FailsTheWriteWithGuestOffset) {
  ScratchDir dir;
  const std::string img = dir / "c.qcow2";
  qcow2_create(img, "2M", std::string("compression_type=") + GetParam());
  std::vector<std::string> cmds;
  for (int i = 0; i < 32; ++i)
    cmds.push_back("write -c -P " + std::to_string(i + 1) + " " + std::to_string(i * 64) + "k 64k");
  qemu_io(img, cmds);
  // Garble the 20th cluster's stream (guest offset 1245184).
  const uint64_t e = read_be64(img, first_l2(img) + 19 * 8);
  ASSERT_TRUE(e & kCompressed);
  const uint64_t host = e & ((1ull << 54) - 1);
  patch_file(img, host, std::vector<uint8_t>(24, 0xff));
  CommandResult r = run(qflash_bin() + " write " + img + " " + (dir / "out.raw"));
  EXPECT_NE(r.status, 0);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find(img), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("guest offset 1245184"), std::string::npos) << r.err;
  CommandResult rd = run(qflash_bin() + " read --offset 1245184 --length 512 " + img);
  EXPECT_EQ(rd.status, 1);
  EXPECT_NE(rd.err.find("guest offset 1245184"), std::string::npos) << rd.err;
}

INSTANTIATE_TEST_SUITE_P(Malformed, CorruptStream, ::testing::Values("zlib", "zstd"));

class MalformedExtendedL2 : public ::testing::Test {
 protected:
  void SetUp() override {
    qcow2_create(img, "1M", "extended_l2=on");
    qemu_io(img, {"write -P 0x31 0 4k", "write -P 0x32 128k 64k"});
    l2 = first_l2(img);
  }
  ScratchDir dir;
  const std::string img = dir / "x.qcow2";
  uint64_t l2 = 0;
};

TEST_F(MalformedExtendedL2, SubclusterAllocatedAndZero) {
  const uint64_t bitmap = read_be64(img, l2 + 8);
  ASSERT_EQ(bitmap & 1, 1u);
  patch_be64(img, l2 + 8, bitmap | (1ull << 32));
  expect_refused(img, {"both allocated and zero", "guest offset 0"});
}

TEST_F(MalformedExtendedL2, AllocatedBitsWithoutCluster) {
  // Cluster 1 (guest 64 KiB) is unallocated; claim allocated subclusters.
  patch_be64(img, l2 + 16 + 8, 0xfe);
  expect_refused(img, {"L2 entry at " + hex(l2 + 16), "has no cluster",
                       "marks subcluster 1 allocated", "guest offset 65536"});
}

TEST(MalformedDataFile, RawDataFileOffsetMismatch) {
  ScratchDir dir;
  must("cd " + quote(dir.path()) +
       " && qemu-img create -q -f qcow2 -o data_file=e.data,data_file_raw=on e.qcow2 1M"
       " && qemu-io -c 'write -P 1 0 1M' e.qcow2");
  const std::string img = dir / "e.qcow2";
  const uint64_t l2 = first_l2(img);
  patch_be64(img, l2 + 8, read_be64(img, l2 + 8) + 65536);  // guest 64 KiB -> host 128 KiB
  const std::string err = expect_refused(img, {"data_file_raw", "guest offset 65536"});
  EXPECT_EQ(run("cd " + quote(dir.path()) + " && qemu-img convert -O raw e.qcow2 x.raw").status, 1)
      << "qemu-img refuses it too";
}

}  // namespace
}  // namespace qflash::test
