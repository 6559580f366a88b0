// Images edited after creation by qemu-img and qemu-io: discards, resizes
// that move the L1 table, shrinks, amend to v2, commit and rebase.
#include <gtest/gtest.h>

#include "tests/support/compare.h"

namespace qflash::test {
namespace {

class Edits : public ::testing::Test {
 protected:
  void SetUp() override {
    qcow2_create(base, "4M");
    qemu_io(base, {"write -P 0x11 0 4M"});
  }
  ScratchDir dir;
  const std::string base = dir / "base.qcow2";
};

TEST_F(Edits, DiscardsOverBacking) {
  const std::string img = dir / "o.qcow2";
  qcow2_create(img, "4M", "backing_file=base.qcow2,backing_fmt=qcow2");
  qemu_io(img, {"write -P 8 0 2M", "discard 64k 128k", "write -z -u 1M 64k", "discard 3M 64k"});
  expect_like_qemu(img, dir);
}

TEST_F(Edits, SubclusterDiscardsOverBacking) {
  const std::string img = dir / "o.qcow2";
  qcow2_create(img, "4M", "extended_l2=on,backing_file=base.qcow2,backing_fmt=qcow2");
  qemu_io(img, {"write -P 8 0 2M", "discard 64k 128k", "write -z -u 1M 8k", "discard 300k 6k"});
  expect_like_qemu(img, dir);
}

TEST_F(Edits, Version2DiscardOverBacking) {
  const std::string img = dir / "o.qcow2";
  qcow2_create(img, "4M", "compat=0.10,backing_file=base.qcow2,backing_fmt=qcow2");
  qemu_io(img, {"write -P 8 0 2M", "discard 64k 128k"});
  expect_like_qemu(img, dir);
}

TEST_F(Edits, GrowMovesL1ThenShrink) {
  // 512-byte clusters: 1 MiB needs 32 L1 entries (one cluster), 4 MiB 128
  // (two), so growing moves the L1 table.
  const std::string img = dir / "r.qcow2";
  qcow2_create(img, "1M", "cluster_size=512");
  qemu_io(img, {"write -P 8 0 100k", "write -P 9 1000k 24k"});
  must("qemu-img resize -q " + img + " 4M");
  qemu_io(img, {"write -P 10 3M 64k"});
  expect_like_qemu(img, dir);
  must("qemu-img resize -q --shrink " + img + " 1536k");
  expect_like_qemu(img, dir);
}

TEST_F(Edits, GrowWithMetadataPreallocation) {
  const std::string img = dir / "p.qcow2";
  qcow2_create(img, "2M", "preallocation=metadata");
  must("qemu-img resize -q --preallocation=metadata " + img + " 5M");
  qemu_io(img, {"write -P 3 4M 4k"});
  expect_like_qemu(img, dir);
}

TEST_F(Edits, AmendToVersion2) {
  const std::string img = dir / "a.qcow2";
  qcow2_create(img, "4M");
  qemu_io(img, {"write -P 8 0 1M", "write -z 512k 64k"});
  must("qemu-img amend -q -o compat=0.10 " + img);
  expect_like_qemu(img, dir);
}

TEST_F(Edits, CommitAndRebase) {
  const std::string mid = dir / "mid.qcow2", top = dir / "top.qcow2";
  qcow2_create(mid, "4M", "backing_file=base.qcow2,backing_fmt=qcow2");
  qemu_io(mid, {"write -P 0x22 1M 1M"});
  qcow2_create(top, "4M", "backing_file=mid.qcow2,backing_fmt=qcow2");
  qemu_io(top, {"write -P 0x33 1536k 1M", "write -z 0 64k"});
  must("qemu-img commit -q " + top);
  expect_like_qemu(top, dir);
  expect_like_qemu(mid, dir);
  must("qemu-img rebase -q -b base.qcow2 -F qcow2 " + top);
  expect_like_qemu(top, dir);
}

}  // namespace
}  // namespace qflash::test
