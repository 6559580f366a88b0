// qemu-img map on preallocated images: with preallocation=metadata qemu
// detects the preallocation from the refcounts and reports holes of the file
// under data clusters as "zero": true (BDRV_BLOCK_RECURSE); qflash must say
// the same, run for run. falloc and full preallocation are plain data.
#include <gtest/gtest.h>

#include "tests/support/compare.h"

namespace qflash::test {
namespace {

struct Prealloc {
  const char* name;
  const char* options;
};

class Preallocated : public ::testing::TestWithParam<Prealloc> {};

TEST_P(Preallocated, MapAndBytesLikeQemu) {
  ScratchDir dir;
  const std::string img = dir / "p.qcow2";
  qcow2_create(img, "5M", GetParam().options);
  // Data inside, at the start and at the very end of the file (a data run
  // reaching the end of the file), and a zero write.
  qemu_io(img, {"write -P 3 1000k 70k", "write -z 3M 4k", "write -P 4 0 4k",
                "write -P 5 5056k 64k"});
  expect_like_qemu(img, dir);
}

INSTANTIATE_TEST_SUITE_P(
    Map, Preallocated,
    ::testing::Values(Prealloc{"metadata", "preallocation=metadata"},
                      Prealloc{"metadata_512", "preallocation=metadata,cluster_size=512"},
                      Prealloc{"metadata_4k", "preallocation=metadata,cluster_size=4k"},
                      Prealloc{"metadata_2M", "preallocation=metadata,cluster_size=2M"},
                      Prealloc{"metadata_v2", "preallocation=metadata,compat=0.10"},
                      Prealloc{"metadata_refcount1", "preallocation=metadata,refcount_bits=1"},
                      Prealloc{"metadata_refcount4", "preallocation=metadata,refcount_bits=4"},
                      Prealloc{"metadata_refcount64", "preallocation=metadata,refcount_bits=64"},
                      Prealloc{"metadata_extended_l2", "preallocation=metadata,extended_l2=on"},
                      Prealloc{"metadata_lazy", "preallocation=metadata,lazy_refcounts=on"},
                      Prealloc{"falloc", "preallocation=falloc"},
                      Prealloc{"full", "preallocation=full"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Map, MetadataPreallocatedUntouchedIsZeroData) {
  ScratchDir dir;
  const std::string img = dir / "p.qcow2";
  qcow2_create(img, "4M", "preallocation=metadata");
  const std::string map = qflash_map(img);
  EXPECT_NE(map.find("\"zero\": true, \"data\": true"), std::string::npos) << map;
  EXPECT_EQ(map, qemu_map(img));
}

TEST(Map, MetadataPreallocatedWithSnapshot) {
  ScratchDir dir;
  const std::string img = dir / "p.qcow2";
  qcow2_create(img, "4M", "preallocation=metadata");
  must("qemu-img snapshot -c s " + img);
  qemu_io(img, {"write -P 3 100k 7k"});
  expect_like_qemu(img, dir);
}

TEST(Map, MetadataPreallocatedOverBacking) {
  ScratchDir dir;
  qcow2_create(dir / "b.qcow2", "1M");
  qemu_io(dir / "b.qcow2", {"write -P 6 0 1M"});
  const std::string img = dir / "p.qcow2";
  qcow2_create(img, "4M", "preallocation=metadata,extended_l2=on,backing_file=b.qcow2,backing_fmt=qcow2");
  qemu_io(img, {"write -P 3 100k 7k"});
  expect_like_qemu(img, dir);
}

TEST(Map, MetadataPreallocatedExternalDataFile) {
  ScratchDir dir;
  must("cd " + quote(dir.path()) +
       " && qemu-img create -q -f qcow2 -o preallocation=metadata,data_file=p.data p.qcow2 4M"
       " && qemu-io -c 'write -P 3 100k 7k' p.qcow2");
  expect_like_qemu("p.qcow2", dir, dir.path().string());
}

TEST(Map, MostlyWrittenMetadataPreallocationIsNotDetected) {
  // Once most clusters hold data the heuristic no longer fires and qemu
  // reports the few holes as plain data.
  ScratchDir dir;
  const std::string img = dir / "p.qcow2";
  qcow2_create(img, "2M", "preallocation=metadata");
  qemu_io(img, {"write -P 7 0 1984k"});
  expect_like_qemu(img, dir);
}

}  // namespace
}  // namespace qflash::test
