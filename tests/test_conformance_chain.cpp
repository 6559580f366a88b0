// Backing chains and external files against qemu-img: a raw base under two
// overlays named by relative paths, zero clusters masking backing data,
// backing files shorter than their overlay, external data files.
#include <gtest/gtest.h>

#include "tests/support/compare.h"
#include "tests/support/refusal.h"

namespace qflash::test {
namespace {

TEST(Chain, ThreeDeepRawBaseRelativePathsFromAnotherDirectory) {
  ScratchDir dir;
  fs::create_directories(dir / "images/sub");
  const std::string base = dir / "images/base.raw";
  must("truncate -s 6M " + base);
  qemu_io(base, {"write -P 0xa1 0 3M", "write -P 0xa2 5M 4k"}, "raw");
  qcow2_create(dir / "images/sub/mid.qcow2", "6M", "backing_file=../base.raw,backing_fmt=raw");
  qemu_io(dir / "images/sub/mid.qcow2", {"write -P 0xb2 1M 1M"});
  qcow2_create(dir / "images/sub/top.qcow2", "8M", "backing_file=mid.qcow2,backing_fmt=qcow2");
  qemu_io(dir / "images/sub/top.qcow2", {"write -P 0xc3 2M 512k", "write -z 0 64k"});
  // Relative names resolve against the image that names them, not the cwd.
  // The base lies above the top image's directory: --backing-dir allows it.
  fs::create_directories(dir / "elsewhere");
  const std::string allow = "--backing-dir " + quote(dir / "images");
  expect_like_qemu("../images/sub/top.qcow2", dir, dir / "elsewhere", allow);
  expect_like_qemu(dir / "images/sub/top.qcow2", dir, "", allow);
  const std::string info =
      must(qflash_bin() + " info --output=json " + allow + " " + (dir / "images/sub/top.qcow2"));
  EXPECT_NE(info.find("\"depth\": 2"), std::string::npos) << info;
}

class ProbedBacking : public ::testing::TestWithParam<const char*> {};

TEST_P(ProbedBacking, FormatWithoutExtensionIsProbed) {
  ScratchDir dir;
  const std::string fmt = GetParam(), base = dir / ("b." + fmt);
  must("qemu-img create -q -f " + fmt + " " + base + " 2M");
  qemu_io(base, {"write -P 0x21 0 1M"}, fmt);
  const std::string img = dir / "o.qcow2";
  qcow2_create(img, "2M", "backing_file=b." + fmt + ",backing_fmt=" + fmt);
  qemu_io(img, {"write -P 0x22 512k 4k"});
  // Turn the backing-format extension into an unknown one: qemu and qflash
  // skip it and probe the backing file.
  const int64_t ext = find_bytes(img, {0xe2, 0x79, 0x2a, 0xca});
  ASSERT_GT(ext, 0);
  patch_be32(img, uint64_t(ext), 0x7a7a7a7a);
  EXPECT_EQ(must("qemu-img info " + img).find("backing file format"), std::string::npos);
  expect_like_qemu(img, dir);
}

INSTANTIATE_TEST_SUITE_P(Conformance, ProbedBacking, ::testing::Values("qcow2", "raw"));

TEST(Chain, ZeroClustersMaskBackingData) {
  ScratchDir dir;
  qcow2_create(dir / "b.qcow2", "4M");
  qemu_io(dir / "b.qcow2", {"write -P 0x5a 0 4M"});
  qcow2_create(dir / "o.qcow2", "4M", "backing_file=b.qcow2,backing_fmt=qcow2");
  qemu_io(dir / "o.qcow2", {"write -z 64k 128k", "write -z 1M 4k", "write -z 3M 1M"});
  expect_like_qemu(dir / "o.qcow2", dir);
  EXPECT_EQ(must(qflash_bin() + " read --offset 64k --length 4 " + (dir / "o.qcow2")),
            std::string(4, '\0'));
}

TEST(Chain, BackingShorterThanOverlay) {
  ScratchDir dir;
  qcow2_create(dir / "b.qcow2", "1000k");
  qemu_io(dir / "b.qcow2", {"write -P 6 0 1000k"});
  qcow2_create(dir / "o.qcow2", "4M", "backing_file=b.qcow2,backing_fmt=qcow2");
  qemu_io(dir / "o.qcow2", {"write -P 7 3M 4k"});
  expect_like_qemu(dir / "o.qcow2", dir);
}

TEST(Chain, RawBackingShorterAndUnaligned) {
  ScratchDir dir;
  must("truncate -s 1000001 " + (dir / "b.raw"));
  qemu_io(dir / "b.raw", {"write -P 6 0 100000", "write -P 7 999424 512"}, "raw");
  qcow2_create(dir / "o.qcow2", "4M", "backing_file=b.raw,backing_fmt=raw");
  qemu_io(dir / "o.qcow2", {"write -P 8 2M 4k"});
  expect_like_qemu(dir / "o.qcow2", dir);
}

TEST(Chain, ZeroWriteDeepInChain) {
  ScratchDir dir;
  qcow2_create(dir / "0.qcow2", "2M");
  qemu_io(dir / "0.qcow2", {"write -P 1 0 2M"});
  for (int i = 1; i < 5; ++i) {
    const std::string img = dir / (std::to_string(i) + ".qcow2");
    qcow2_create(img, "2M", "backing_file=" + std::to_string(i - 1) + ".qcow2,backing_fmt=qcow2");
    qemu_io(img, {"write -P " + std::to_string(i + 1) + " " + std::to_string(i * 256) + "k 64k",
                  "write -z " + std::to_string(i * 300) + "k 64k"});
  }
  expect_like_qemu(dir / "4.qcow2", dir);
}

class DataFile : public ::testing::TestWithParam<const char*> {};

TEST_P(DataFile, ExternalDataFile) {
  ScratchDir dir;
  const std::string cwd = dir.path().string();
  // qemu 7.2 names and opens a relative data file from its working directory.
  must("cd " + quote(cwd) + " && qemu-img create -q -f qcow2 -o data_file=e.data,data_file_raw=" +
       GetParam() + " e.qcow2 4M");
  must("cd " + quote(cwd) + " && qemu-io -c 'write -P 0x21 0 100k' -c 'write -z 1M 64k' "
       "-c 'write -P 0x22 3M 4k' e.qcow2");
  expect_like_qemu("e.qcow2", dir, cwd);
  // From elsewhere qemu cannot find e.data; qflash looks beside the image.
  must("cd " + quote(cwd) + " && qemu-img convert -O raw e.qcow2 want.raw");
  must(qflash_bin() + " write " + (dir / "e.qcow2") + " " + (dir / "got.raw"));
  EXPECT_EQ(first_difference(dir / "want.raw", dir / "got.raw"), -1);
}

INSTANTIATE_TEST_SUITE_P(Conformance, DataFile, ::testing::Values("on", "off"));

}  // namespace
}  // namespace qflash::test
