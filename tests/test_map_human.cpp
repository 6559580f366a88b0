// qflash map's human format against qemu-img map's: the same lines, the
// same file names, and the same refusal for compressed clusters.
#include <gtest/gtest.h>

#include "tests/support/compare.h"

namespace qflash::test {
namespace {

void expect_same_human_map(const std::string& image, const std::string& cwd,
                           const std::string& qflash_args = "") {
  const std::string in = "cd " + quote(cwd) + " && ";
  CommandResult theirs = run(in + "qemu-img map " + quote(image));
  CommandResult ours = run(in + qflash_bin() + " map " + qflash_args + " " + quote(image));
  EXPECT_EQ(ours.status, theirs.status) << ours.err;
  EXPECT_EQ(ours.out, theirs.out);
}

TEST(MapHuman, ChainWithRelativeNames) {
  ScratchDir dir;
  fs::create_directories(dir / "sub");
  must("truncate -s 2M " + (dir / "base.raw"));
  qemu_io(dir / "base.raw", {"write -P 1 0 1M"}, "raw");
  qcow2_create(dir / "sub/top.qcow2", "2M", "backing_file=../base.raw,backing_fmt=raw");
  qemu_io(dir / "sub/top.qcow2", {"write -P 2 512k 64k", "write -z 0 64k"});
  // The base lies above the image's directory: --backing-dir allows it.
  expect_same_human_map("sub/top.qcow2", dir.path().string(), "--backing-dir .");
}

TEST(MapHuman, MetadataPreallocationHidesZeroRuns) {
  ScratchDir dir;
  qcow2_create(dir / "p.qcow2", "2M", "preallocation=metadata");
  qemu_io(dir / "p.qcow2", {"write -P 2 512k 64k"});
  expect_same_human_map("p.qcow2", dir.path().string());
}

TEST(MapHuman, CompressedClustersAreRefused) {
  ScratchDir dir;
  qcow2_create(dir / "c.qcow2", "2M");
  qemu_io(dir / "c.qcow2", {"write -P 2 0 64k", "write -c -P 3 1M 64k"});
  expect_same_human_map("c.qcow2", dir.path().string());
}

}  // namespace
}  // namespace qflash::test
