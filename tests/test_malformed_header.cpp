// Malformed QCOW2 headers: each is refused before anything is written, with
// one line naming the image and the fault.
#include <gtest/gtest.h>

#include <iostream>

#include "tests/support/compare.h"
#include "tests/support/refusal.h"

namespace qflash::test {
namespace {

// Header field offsets (docs/interop/qcow2.rst).
constexpr uint64_t kVersion = 4, kBackingOffset = 8, kBackingSize = 16, kClusterBits = 20,
                   kSize = 24, kCryptMethod = 32, kL1Size = 36, kL1Offset = 40,
                   kRefcountOffset = 48, kRefcountClusters = 56, kSnapshots = 60,
                   kSnapshotsOffset = 64, kIncompatible = 72, kRefcountOrder = 96,
                   kHeaderLength = 100;

class MalformedHeader : public ::testing::Test {
 protected:
  void SetUp() override {
    qcow2_create(img, "4M");
    qemu_io(img, {"write -P 0x5a 0 128k"});
  }
  ScratchDir dir;
  const std::string img = dir / "bad.qcow2";
};

// Formats are told by content: without QCOW2's magic the file is a raw disk
// (as qemu-img probes it), never a refusal.
TEST_F(MalformedHeader, BadMagicIsRaw) {
  patch_be32(img, 0, 0x514649fc);
  auto info = must(qflash_bin() + " info --output=json " + quote(img));
  EXPECT_NE(info.find("\"format\": \"raw\""), std::string::npos) << info;
}

TEST_F(MalformedHeader, Version1) {
  patch_be32(img, kVersion, 1);
  expect_refused(img, {"version 1"});
}

TEST_F(MalformedHeader, Version4) {
  patch_be32(img, kVersion, 4);
  expect_refused(img, {"version 4"});
}

TEST_F(MalformedHeader, ClusterBits8) {
  patch_be32(img, kClusterBits, 8);
  expect_refused(img, {"cluster_bits 8"});
}

TEST_F(MalformedHeader, ClusterBits22) {
  patch_be32(img, kClusterBits, 22);
  expect_refused(img, {"cluster_bits 22"});
}

TEST_F(MalformedHeader, ClusterBitsHuge) {
  patch_be32(img, kClusterBits, 0xffffffff);
  expect_refused(img, {"cluster_bits 4294967295"});
}

TEST_F(MalformedHeader, L1LargerThanTheFile) {
  patch_be32(img, kL1Size, 1u << 20);  // 8 MiB of L1 in a file of a few hundred KiB
  expect_refused(img, {"L1 table", "past the end of the file"});
}

TEST_F(MalformedHeader, L1OverQemuLimit) {
  patch_be32(img, kL1Size, (32u << 20) / 8 + 1);
  expect_refused(img, {"L1 table", "32 MiB"});
}

TEST_F(MalformedHeader, L1MaxEntries) {
  patch_be32(img, kL1Size, 0xffffffff);
  expect_refused(img, {"L1 table", "32 MiB"});
}

TEST_F(MalformedHeader, L1TooSmallForVirtualSize) {
  patch_be64(img, kSize, 1ull << 30);  // 64 KiB clusters: 2 L1 entries needed, 1 present
  expect_refused(img, {"L1 table has 1 entries, 2 are needed"});
}

TEST_F(MalformedHeader, L1OffsetPastEof) {
  patch_be64(img, kL1Offset, 1ull << 40);
  expect_refused(img, {"L1 table", "past the end of the file"});
}

TEST_F(MalformedHeader, L1OffsetOverflows) {
  patch_be64(img, kL1Offset, 0xffffffffffff0000ull);
  expect_refused(img, {"L1 table", "past the end of the file"});
}

TEST_F(MalformedHeader, L1OffsetUnaligned) {
  patch_be64(img, kL1Offset, 0x30200);
  expect_refused(img, {"L1 table offset 0x30200 is not cluster-aligned"});
}

TEST_F(MalformedHeader, AbsurdVirtualSize) {
  patch_be64(img, kSize, 1ull << 63);
  expect_refused(img, {"virtual size 9223372036854775808"});
}

TEST_F(MalformedHeader, VirtualSizeAllOnes) {
  patch_be64(img, kSize, ~0ull);
  expect_refused(img, {"virtual size"});
}

TEST_F(MalformedHeader, VirtualSizeBeyondL1Limit) {
  patch_be64(img, kSize, 1ull << 60);  // would need more than 32 MiB of L1
  expect_refused(img, {"virtual size"});
}

TEST_F(MalformedHeader, AesEncryption) {
  patch_be32(img, kCryptMethod, 1);
  expect_refused(img, {"encrypted", "AES"});
}

TEST_F(MalformedHeader, UnknownCryptMethod) {
  patch_be32(img, kCryptMethod, 7);
  expect_refused(img, {"encrypted", "method 7"});
}

TEST_F(MalformedHeader, RefcountTablePastEof) {
  patch_be64(img, kRefcountOffset, 1ull << 40);
  expect_refused(img, {"refcount table", "past the end of the file"});
}

TEST_F(MalformedHeader, RefcountTableHuge) {
  patch_be32(img, kRefcountClusters, 0xffffffff);
  expect_refused(img, {"refcount table"});
}

TEST_F(MalformedHeader, NoRefcountTable) {
  patch_be32(img, kRefcountClusters, 0);
  EXPECT_EQ(run("qemu-img convert -O raw " + img + " " + (dir / "x.raw")).status, 1)
      << "qemu-img refuses it too";
  expect_refused(img, {"no refcount table"});
}

TEST_F(MalformedHeader, RefcountOrder7) {
  patch_be32(img, kRefcountOrder, 7);
  expect_refused(img, {"refcount order 7"});
}

TEST_F(MalformedHeader, SnapshotTableUnaligned) {
  patch_be32(img, kSnapshots, 1);
  patch_be64(img, kSnapshotsOffset, 0x10008);
  expect_refused(img, {"snapshot table", "not cluster-aligned"});
}

TEST_F(MalformedHeader, EmptySnapshotTableUnaligned) {
  patch_be64(img, kSnapshotsOffset, 0x10008);
  EXPECT_EQ(run("qemu-img info " + img).status, 1) << "qemu-img refuses it too";
  expect_refused(img, {"snapshot table", "not cluster-aligned"});
}

TEST_F(MalformedHeader, SnapshotExtraDataTooLarge) {
  must("qemu-img snapshot -c one " + img);
  const uint64_t off = read_be64(img, kSnapshotsOffset);
  patch_be32(img, off + 36, 4096);
  EXPECT_EQ(run("qemu-img info " + img).status, 1) << "qemu-img refuses it too";
  expect_refused(img, {"snapshot 0", "extra data"});
}

TEST_F(MalformedHeader, EmptySnapshotTableBeyondInt64) {
  patch_be64(img, kSnapshotsOffset, 0xffffffffffff0000ull);
  EXPECT_EQ(run("qemu-img info " + img).status, 1) << "qemu-img refuses it too";
  expect_refused(img, {"snapshot table offset", "invalid"});
}

TEST_F(MalformedHeader, DataFileRawWithoutDataFile) {
  patch_be64(img, 88, 2);  // autoclear: data_file_raw
  EXPECT_EQ(run("qemu-img convert -O raw " + img + " " + (dir / "x.raw")).status, 1)
      << "qemu-img refuses it too";
  expect_refused(img, {"data_file_raw"});
}

TEST_F(MalformedHeader, SnapshotTablePastEof) {
  patch_be32(img, kSnapshots, 3);
  patch_be64(img, kSnapshotsOffset, 1ull << 40);
  expect_refused(img, {"snapshot table", "past the end of the file"});
}

TEST_F(MalformedHeader, UnknownIncompatibleBitsNamedFromTable) {
  // Rename the first entry of qemu's feature name table to an incompatible
  // bit 9 of our invention, then set bits 9 and 40.
  const int64_t table = find_bytes(img, {0x68, 0x03, 0xf8, 0x57});
  ASSERT_GT(table, 0);
  std::vector<uint8_t> entry(48, 0);
  entry[0] = 0;
  entry[1] = 9;
  const std::string name = "shiny new feature";
  std::copy(name.begin(), name.end(), entry.begin() + 2);
  patch_file(img, uint64_t(table) + 8, entry);
  patch_be64(img, kIncompatible, (1ull << 9) | (1ull << 40));
  expect_refused(img, {"unknown incompatible features", "shiny new feature", "bit 40"});
}

TEST_F(MalformedHeader, HeaderLengthTooShort) {
  patch_be32(img, kHeaderLength, 100);
  expect_refused(img, {"header length 100"});
}

TEST_F(MalformedHeader, HeaderLengthPastCluster) {
  patch_be32(img, kHeaderLength, 0x20000);
  expect_refused(img, {"header length"});
}

TEST_F(MalformedHeader, HeaderLengthPastEof) {
  patch_be32(img, kHeaderLength, 4096);
  fs::resize_file(img, 200);
  expect_refused(img, {"cut short"});
}

TEST_F(MalformedHeader, ExtensionHeaderCutShort) {
  // Make the extension area end 4 bytes into an extension header by placing
  // a backing file name right after the header.
  patch_be64(img, kBackingOffset, 112 + 4);
  patch_be32(img, kBackingSize, 1);
  patch_be32(img, 112, 0xe2792aca);
  expect_refused(img, {"header extension", "cut short"});
}

TEST_F(MalformedHeader, ExtensionOverrunsCluster) {
  const int64_t table = find_bytes(img, {0x68, 0x03, 0xf8, 0x57});
  ASSERT_GT(table, 0);
  patch_be32(img, uint64_t(table) + 4, 0xfffffff0);
  expect_refused(img, {"header extension"});
}

TEST_F(MalformedHeader, EndMarkerWithBogusLength) {
  // qemu checks an extension's length before its type, even for the end
  // marker that follows the feature name table.
  const int64_t table = find_bytes(img, {0x68, 0x03, 0xf8, 0x57});
  ASSERT_GT(table, 0);
  const auto bytes = read_file(img);
  const uint64_t len = uint64_t(bytes[size_t(table) + 4]) << 24 | uint64_t(bytes[size_t(table) + 5]) << 16 |
                       uint64_t(bytes[size_t(table) + 6]) << 8 | bytes[size_t(table) + 7];
  const uint64_t marker = uint64_t(table) + 8 + ((len + 7) & ~uint64_t{7});
  patch_be32(img, marker, 0);
  patch_be32(img, marker + 4, 0x00ff0000);
  EXPECT_EQ(run("qemu-img info " + img).status, 1) << "qemu-img refuses it too";
  expect_refused(img, {"header extension", "longer than the header area"});
}

TEST_F(MalformedHeader, TruncatedHeader) {
  fs::resize_file(img, 50);
  expect_refused(img, {"too short"});
}

TEST_F(MalformedHeader, EmptyFile) {
  fs::resize_file(img, 0);
  expect_refused(img, {"empty"});
}

TEST_F(MalformedHeader, TruncatedFile) {
  // The L2 table and data lie in the part cut off.
  fs::resize_file(img, 0x30000);
  expect_refused(img, {"past the end"});
}

TEST_F(MalformedHeader, TruncatedInsideL1) {
  fs::resize_file(img, 0x30004);
  expect_refused(img, {"L1 table", "past the end"});
}

TEST(MalformedBacking, NameLongerThan1023) {
  ScratchDir dir;
  const std::string img = dir / "o.qcow2";
  qcow2_create(dir / "b.qcow2", "1M");
  qcow2_create(img, "1M", "backing_file=" + (dir / "b.qcow2") + ",backing_fmt=qcow2");
  patch_be32(img, kBackingSize, 2000);
  expect_refused(img, {"backing file name", "1023"});
}

TEST(MalformedBacking, NamePastFirstCluster) {
  ScratchDir dir;
  const std::string img = dir / "o.qcow2";
  qcow2_create(dir / "b.qcow2", "1M");
  qcow2_create(img, "1M", "backing_file=" + (dir / "b.qcow2") + ",backing_fmt=qcow2");
  patch_be64(img, kBackingOffset, 65536 - 10);
  expect_refused(img, {"backing file name", "first cluster"});
}

TEST(MalformedBacking, NameOffsetPastFirstCluster) {
  ScratchDir dir;
  const std::string img = dir / "o.qcow2";
  qcow2_create(dir / "b.qcow2", "1M");
  qcow2_create(img, "1M", "backing_file=" + (dir / "b.qcow2") + ",backing_fmt=qcow2");
  patch_be64(img, kBackingOffset, 1ull << 62);
  expect_refused(img, {"backing file name", "first cluster"});
}

TEST(MalformedEncryption, Luks) {
  ScratchDir dir;
  const std::string img = dir / "luks.qcow2";
  CommandResult r = run("qemu-img create -q -f qcow2 --object secret,id=sec0,data=x -o "
                        "encrypt.format=luks,encrypt.key-secret=sec0 " + img + " 1M");
  if (r.status != 0) {
    // qemu times its key derivation with thread CPU clocks, which some
    // sandboxes do not provide; the header field is what qflash checks.
    std::cerr << "qemu-img cannot create LUKS here (" << r.err << "); patching crypt_method\n";
    qcow2_create(img, "1M");
    patch_be32(img, kCryptMethod, 2);
  }
  expect_refused(img, {"encrypted", "LUKS"});
}

TEST(MalformedCompression, UnknownCompressionType) {
  ScratchDir dir;
  const std::string img = dir / "z.qcow2";
  qcow2_create(img, "1M", "compression_type=zstd");
  patch_file(img, 104, {7});
  expect_refused(img, {"compression type 7"});
}

}  // namespace
}  // namespace qflash::test
