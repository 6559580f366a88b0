// Malformed backing chains: missing files, loops, depth, formats.
#include <gtest/gtest.h>

#include "tests/support/compare.h"
#include "tests/support/refusal.h"

namespace qflash::test {
namespace {

TEST(MalformedChain, MissingBackingFileNamedWithPathLookedFor) {
  ScratchDir dir;
  fs::create_directories(dir / "sub");
  const std::string img = dir / "sub/o.qcow2";
  must("qemu-img create -q -u -f qcow2 -b gone.qcow2 -F qcow2 " + img + " 1M");
  expect_refused(img, {"backing file", "gone.qcow2", dir / "sub/gone.qcow2"});
}

TEST(MalformedChain, MissingRawBase) {
  ScratchDir dir;
  must("truncate -s 1M " + (dir / "b.raw"));
  qcow2_create(dir / "m.qcow2", "1M", "backing_file=b.raw,backing_fmt=raw");
  qcow2_create(dir / "t.qcow2", "1M", "backing_file=m.qcow2,backing_fmt=qcow2");
  fs::remove(dir / "b.raw");
  const std::string err = expect_refused(dir / "t.qcow2", {"b.raw"});
  EXPECT_NE(err.find(dir / "m.qcow2"), std::string::npos) << "names the image that refers to it";
}

TEST(MalformedChain, LoopOfTwo) {
  ScratchDir dir;
  qcow2_create(dir / "a.qcow2", "1M");
  qcow2_create(dir / "b.qcow2", "1M", "backing_file=a.qcow2,backing_fmt=qcow2");
  must("qemu-img rebase -u -f qcow2 -b b.qcow2 -F qcow2 " + (dir / "a.qcow2"));
  expect_refused(dir / "a.qcow2", {"loop"});
}

TEST(MalformedChain, LoopOntoItself) {
  ScratchDir dir;
  qcow2_create(dir / "a.qcow2", "1M");
  must("qemu-img rebase -u -f qcow2 -b a.qcow2 -F qcow2 " + (dir / "a.qcow2"));
  expect_refused(dir / "a.qcow2", {"loop"});
}

TEST(MalformedChain, LoopThroughAnotherName) {
  ScratchDir dir;
  qcow2_create(dir / "a.qcow2", "1M");
  fs::create_symlink("a.qcow2", dir / "link.qcow2");
  must("qemu-img rebase -u -f qcow2 -b link.qcow2 -F qcow2 " + (dir / "a.qcow2"));
  expect_refused(dir / "a.qcow2", {"loop"});
}

TEST(MalformedChain, DeeperThan64) {
  ScratchDir dir;
  // 66 images: i.qcow2 backed by (i-1).qcow2, created without opening the
  // backing file (-u) to stay fast.
  std::string script = "cd " + quote(dir.path()) + " && qemu-img create -q -f qcow2 0.qcow2 1M";
  for (int i = 1; i < 66; ++i)
    script += " && qemu-img create -q -u -f qcow2 -b " + std::to_string(i - 1) +
              ".qcow2 -F qcow2 " + std::to_string(i) + ".qcow2 1M";
  must(script);
  expect_refused(dir / "65.qcow2", {"deeper than 64"});
  // 64 deep is fine.
  must(qflash_bin() + " write " + (dir / "63.qcow2") + " " + (dir / "ok.raw"));
}

TEST(MalformedChain, UnsupportedBackingFormat) {
  ScratchDir dir;
  must("qemu-img create -q -f vmdk " + (dir / "b.vmdk") + " 1M");
  qcow2_create(dir / "o.qcow2", "1M", "backing_file=b.vmdk,backing_fmt=vmdk");
  expect_refused(dir / "o.qcow2", {"vmdk", "not supported"});
}

TEST(MalformedChain, BackingDeclaredQcow2ButRaw) {
  ScratchDir dir;
  must("truncate -s 1M " + (dir / "b.raw"));
  qcow2_create(dir / "o.qcow2", "1M");
  must("qemu-img rebase -u -f qcow2 -b b.raw -F qcow2 " + (dir / "o.qcow2"));
  expect_refused(dir / "o.qcow2", {"b.raw", "qcow2"});
}

TEST(MalformedChain, MalformedBackingNamesTheBackingFile) {
  ScratchDir dir;
  qcow2_create(dir / "b.qcow2", "1M");
  qcow2_create(dir / "o.qcow2", "1M", "backing_file=b.qcow2,backing_fmt=qcow2");
  patch_be32(dir / "b.qcow2", 20, 30);  // cluster_bits
  const std::string err = expect_refused(dir / "o.qcow2", {"cluster_bits 30"});
  EXPECT_NE(err.find(dir / "b.qcow2"), std::string::npos) << err;
}

TEST(MalformedChain, MissingExternalDataFile) {
  ScratchDir dir;
  must("cd " + quote(dir.path()) + " && qemu-img create -q -f qcow2 -o data_file=d.data e.qcow2 1M");
  fs::remove(dir / "d.data");
  expect_refused(dir / "e.qcow2", {"external data file", "d.data"});
}

}  // namespace
}  // namespace qflash::test
