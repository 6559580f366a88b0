// qflash write --partition N=TARGET: each partition's bytes equal what dd
// extracts from qemu-img's raw output; wrong numbers and small targets are
// refused before anything is written.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "tests/test_partitions_disks.h"

namespace qflash::test {
namespace {

// `qemu_raw`'s bytes of [first, last] sectors, cut out by dd.
std::string dd_partition(const ScratchDir& dir, const std::string& raw, uint64_t first,
                         uint64_t last, uint32_t ss) {
  std::string out = dir / ("want-" + std::to_string(first) + ".bin");
  must("dd if=" + quote(raw) + " of=" + quote(out) + " bs=" + std::to_string(ss) + " skip=" +
       std::to_string(first) + " count=" + std::to_string(last - first + 1) + " status=none");
  return out;
}

struct Pick {
  unsigned number;
  uint64_t first, last;
};

void expect_partitions_written(const ScratchDir& dir, const std::string& image,
                               const std::vector<Pick>& picks, uint32_t ss) {
  std::string oracle = dir / "oracle.raw";
  qemu_raw(image, oracle);
  std::string cmd = qflash_bin() + " write " + quote(image);
  for (const auto& p : picks)
    cmd += " --partition " + std::to_string(p.number) + "=" +
           quote(dir / ("p" + std::to_string(p.number)));
  CommandResult r = run(cmd);
  ASSERT_EQ(r.status, 0) << r.err;
  for (const auto& p : picks) {
    SCOPED_TRACE("partition " + std::to_string(p.number));
    std::string got = dir / ("p" + std::to_string(p.number));
    std::string want = dd_partition(dir, oracle, p.first, p.last, ss);
    EXPECT_EQ(fs::file_size(got), (p.last - p.first + 1) * ss);
    EXPECT_EQ(first_difference(want, got), -1);
  }
}

TEST(PartitionWrite, GptPartitionsEqualDdOfQemuRaw) {
  ScratchDir dir;
  std::string raw = make_gpt5(dir);
  expect_partitions_written(dir, convert(raw, dir / "gpt5.qcow2", true),
                            {{1, 2048, 10239}, {2, 10240, 43007}, {5, 75776, 131038}}, 512);
}

TEST(PartitionWrite, MbrPrimaryAndLogicalsEqualDdOfQemuRaw) {
  ScratchDir dir;
  std::string raw = make_mbr(dir);
  // Data at both ends of partitions 1, 5 and 7, where sfdisk put them.
  const std::vector<Pick> picks = {{1, 2048, 18431}, {5, 36864, 45055}, {7, 61440, 86015}};
  const std::string dump = must("sfdisk -d " + raw);
  for (const auto& p : picks) {
    ASSERT_TRUE(std::regex_search(
        dump,
        std::regex("raw" + std::to_string(p.number) + " : start= +" + std::to_string(p.first) +
                   ", size= +" + std::to_string(p.last - p.first + 1) + ",")))
        << dump;
    scribble(raw, p.first, p.last, 512);
  }
  expect_partitions_written(dir, convert(raw, dir / "mbr.qcow2", false), picks, 512);
}

TEST(PartitionWrite, OddSectorsAcrossClusters) {
  ScratchDir dir;
  std::string raw = dir / "odd.raw";
  must("truncate -s 8M " + raw);
  must("sgdisk -a 1 -n1:35:3367 -n2:3371:9999 -n3:10001:16000 " + raw);
  const std::vector<Pick> picks = {{1, 35, 3367}, {2, 3371, 9999}, {3, 10001, 16000}};
  for (const auto& p : picks) scribble(raw, p.first, p.last, 512);
  for (bool compress : {false, true}) {
    SCOPED_TRACE(compress ? "compressed" : "plain");
    expect_partitions_written(dir, convert(raw, dir / "odd.qcow2", compress), picks, 512);
  }
}

TEST(PartitionWrite, Gpt4096ByteSectors) {
  ScratchDir dir;
  std::string raw = make_gpt4k(dir);
  expect_partitions_written(dir, convert(raw, dir / "gpt4k.qcow2", true), {{2, 1280, 3327}}, 4096);
}

TEST(PartitionWrite, DamagedPrimaryGptStillWritesWithWarning) {
  ScratchDir dir;
  std::string raw = make_gpt5(dir);
  flip_byte(raw, 512 + 60);
  std::string img = convert(raw, dir / "damaged.qcow2", true);
  CommandResult r = run(qflash_bin() + " write " + img + " --partition 3=" + quote(dir / "p3"));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("warning"), std::string::npos) << r.err;
  EXPECT_EQ(first_difference(dd_partition(dir, raw, 43008, 59391, 512), dir / "p3"), -1);
}

TEST(PartitionWrite, UnknownPartitionRefusedNamingTheOthers) {
  ScratchDir dir;
  std::string img = convert(make_mbr(dir), dir / "mbr.qcow2", false);
  CommandResult r = run(qflash_bin() + " write " + img + " --partition 1=" + quote(dir / "a") +
                        " --partition 9=" + quote(dir / "b"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("no partition 9 (partitions: 1, 2, 3, 4, 5, 6, 7)"), std::string::npos)
      << r.err;
  EXPECT_FALSE(fs::exists(dir / "a"));
  EXPECT_FALSE(fs::exists(dir / "b"));
}

TEST(PartitionWrite, DiskWithoutTableRefused) {
  ScratchDir dir;
  std::string img = dir / "blank.qcow2";
  must("qemu-img create -q -f qcow2 " + img + " 4M");
  CommandResult r = run(qflash_bin() + " write " + img + " --partition 1=" + quote(dir / "a"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("no partition table"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir / "a"));
}

TEST(PartitionWrite, BadArgumentsRefused) {
  ScratchDir dir;
  std::string img = dir / "blank.qcow2";
  must("qemu-img create -q -f qcow2 " + img + " 4M");
  for (const std::string args :
       {"--partition 0=x", "--partition x=y", "--partition 1=", "--partition 1",
        "--partition 1=x --partition 2=x", "--partition 1=x extra"}) {
    SCOPED_TRACE(args);
    CommandResult r = run("cd " + quote(dir.path().string()) + " && " + qflash_bin() + " write " +
                          img + " " + args);
    EXPECT_EQ(r.status, 1);
    EXPECT_FALSE(fs::exists(dir / "x"));
  }
}

TEST(PartitionWrite, BlockDeviceSmallerThanPartitionRefused) {
  ScratchDir dir;
  std::string img = convert(make_gpt5(dir), dir / "gpt5.qcow2", false);
  std::string backing = dir / "small.img";
  must("truncate -s 1M " + backing);
  LoopDevice loop(backing);
  if (loop.path().empty()) GTEST_SKIP() << "no loop device available";
  CommandResult r = run(qflash_bin() + " write --yes " + img + " --partition 2=" + loop.path());
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find(loop.path() + ": the device holds 1 MiB (1048576 bytes)"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("16777216"), std::string::npos) << r.err;
  std::vector<uint8_t> bytes = read_file(backing);
  EXPECT_EQ(std::count(bytes.begin(), bytes.end(), 0), 1 << 20);
}

TEST(PartitionWrite, PartitionFitsBlockDevice) {
  ScratchDir dir;
  std::string raw = make_gpt5(dir);
  std::string img = convert(raw, dir / "gpt5.qcow2", true);
  std::string backing = dir / "dev.img";
  must("truncate -s 5M " + backing);
  LoopDevice loop(backing);
  if (loop.path().empty()) GTEST_SKIP() << "no loop device available";
  CommandResult r = run(qflash_bin() + " write --yes " + img + " --partition 1=" + loop.path());
  ASSERT_EQ(r.status, 0) << r.err;
  must("dd if=" + loop.path() + " of=" + quote(dir / "got") + " bs=1M count=4 status=none");
  EXPECT_EQ(first_difference(dd_partition(dir, raw, 2048, 10239, 512), dir / "got"), -1);
}

TEST(PartitionWrite, MassOnePartitionOntoEveryTarget) {
  ScratchDir dir;
  std::string raw = make_mbr(dir);
  scribble(raw, 47104, 59391, 512);  // logical partition 6
  std::string img = convert(raw, dir / "mbr.qcow2", true);
  qemu_raw(img, dir / "oracle.raw");
  std::string want = dd_partition(dir, dir / "oracle.raw", 47104, 59391, 512);
  CommandResult r = run(qflash_mass_bin() + " --partition 6 " + img + " " + quote(dir / "a") + " " +
                        quote(dir / "b") + " " + quote(dir / "c"));
  ASSERT_EQ(r.status, 0) << r.err;
  for (const char* t : {"a", "b", "c"}) EXPECT_EQ(first_difference(want, dir / t), -1) << t;

  r = run(qflash_mass_bin() + " --partition 8 " + img + " " + quote(dir / "d"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("no partition 8 (partitions: 1, 2, 3, 4, 5, 6, 7)"), std::string::npos)
      << r.err;
  EXPECT_FALSE(fs::exists(dir / "d"));
  EXPECT_EQ(run(qflash_mass_bin() + " --partition 1 --partition 2 " + img + " " + quote(dir / "d"))
                .status,
            1);
}

}  // namespace
}  // namespace qflash::test
