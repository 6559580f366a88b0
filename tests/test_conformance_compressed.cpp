// Compressed clusters against qemu-img: deflate and zstd, from
// `qemu-img convert -c` and `qemu-io write -c`, every cluster size, and
// extended L2 subclusters written over a compressed backing file.
#include <gtest/gtest.h>

#include "tests/support/compare.h"

namespace qflash::test {
namespace {

// A raw source with data, a zero run and a sparse tail (qemu-img convert -c
// leaves zero clusters unallocated).
std::string make_source(const ScratchDir& dir) {
  const std::string raw = dir / "src.raw";
  must("truncate -s 6M " + raw);
  qemu_io(raw, {"write -P 0x33 0 2M", "write -P 0x44 4M 1M", "write -P 0x45 5M 1000"}, "raw");
  return raw;
}

struct Compressed {
  const char* codec;
  const char* cluster;
};

class ConvertCompressed : public ::testing::TestWithParam<Compressed> {};

TEST_P(ConvertCompressed, EqualsQemu) {
  ScratchDir dir;
  const std::string img = dir / "c.qcow2";
  must("qemu-img convert -c -O qcow2 -o compression_type=" + std::string(GetParam().codec) +
       ",cluster_size=" + GetParam().cluster + " " + make_source(dir) + " " + img);
  expect_like_qemu(img, dir);
  EXPECT_EQ(must(qflash_bin() + " read --offset 5M --length 1 " + img), "\x45");
}

INSTANTIATE_TEST_SUITE_P(Conformance, ConvertCompressed,
                         ::testing::Values(Compressed{"zlib", "512"}, Compressed{"zlib", "4k"},
                                           Compressed{"zlib", "64k"}, Compressed{"zlib", "2M"},
                                           Compressed{"zstd", "512"}, Compressed{"zstd", "4k"},
                                           Compressed{"zstd", "64k"}, Compressed{"zstd", "2M"}),
                         [](const auto& info) {
                           return std::string(info.param.codec) + "_" + info.param.cluster;
                         });

class WriteCompressed : public ::testing::TestWithParam<const char*> {};

TEST_P(WriteCompressed, QemuIoWriteC) {
  ScratchDir dir;
  const std::string img = dir / "w.qcow2";
  qcow2_create(img, "4M", std::string("compression_type=") + GetParam());
  // Compressed clusters next to plain and zero ones, and one partly
  // overwritten (qemu decompresses it into a plain cluster).
  qemu_io(img, {"write -c -P 0x12 0 64k", "write -c -P 0x13 128k 64k", "write -P 0x14 64k 64k",
                "write -P 0x15 130k 4k", "write -z 1M 64k", "write -c -P 0x16 3968k 64k"});
  expect_like_qemu(img, dir);
}

INSTANTIATE_TEST_SUITE_P(Conformance, WriteCompressed, ::testing::Values("zlib", "zstd"));

TEST(Compressed, ExtendedL2SubclustersOverCompressedBacking) {
  ScratchDir dir;
  const std::string base = dir / "base.qcow2", top = dir / "top.qcow2";
  must("qemu-img convert -c -O qcow2 -o compression_type=zstd " + make_source(dir) + " " + base);
  qcow2_create(top, "6M", "extended_l2=on,cluster_size=64k,backing_file=base.qcow2,backing_fmt=qcow2");
  // Subcluster writes (2 KiB subclusters) and zeroes that leave the rest of
  // each cluster to the compressed backing.
  qemu_io(top, {"write -P 0x77 4k 4k", "write -z 12k 2k", "write -P 0x78 70k 10k",
                "write -z 200k 64k", "write -P 0x79 4M 2k", "write -z 5M 6k"});
  expect_like_qemu(top, dir);
}

TEST(Compressed, ExtendedL2StandAlone) {
  ScratchDir dir;
  const std::string img = dir / "x.qcow2";
  qcow2_create(img, "3M", "extended_l2=on,cluster_size=128k");
  qemu_io(img, {"write -P 1 0 4k", "write -P 2 1M 5000", "write -z 2M 8k", "write -c -P 3 2304k 128k"});
  expect_like_qemu(img, dir);
}

}  // namespace
}  // namespace qflash::test
