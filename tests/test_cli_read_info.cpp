// qflash read against dd of qemu-img's raw, and qflash info's JSON fields.
#include <gtest/gtest.h>

#include <memory>

#include "tests/support/compare.h"

namespace qflash::test {
namespace {

class ReadAndInfo : public ::testing::Test {
 protected:
  // A chain: an extended-L2 overlay with an odd size over a zstd-compressed
  // image over a raw base.
  void SetUp() override {
    const std::string base = *dir / "base.raw", mid = *dir / "mid.qcow2";
    must("truncate -s 3M " + base);
    qemu_io(base, {"write -P 0xa1 0 3M"}, "raw");
    qcow2_create(mid, "4M",
                 "compression_type=zstd,cluster_size=32k,backing_file=base.raw,backing_fmt=raw");
    qemu_io(mid, {"write -c -P 0xb2 64k 32k", "write -P 0xb3 1M 100k", "write -c -P 0xb4 3M 64k"});
    qcow2_create(*dir / "top.qcow2", "5243392",
                 "extended_l2=on,lazy_refcounts=on,backing_file=mid.qcow2,backing_fmt=qcow2");
    qemu_io(*dir / "top.qcow2", {"write -P 0xc4 70k 3k", "write -z 1030k 8k", "write -P 0xc5 5M 512"});
    qemu_raw(*dir / "top.qcow2", *dir / "top.raw");
    ASSERT_FALSE(HasFailure());
  }
  std::unique_ptr<ScratchDir> dir = std::make_unique<ScratchDir>();
};

TEST_F(ReadAndInfo, ReadRangesEqualDd) {
  const std::string img = *dir / "top.qcow2", raw = *dir / "top.raw";
  const uint64_t size = fs::file_size(raw);
  ASSERT_EQ(size, 5243392u);
  const std::pair<uint64_t, uint64_t> ranges[] = {
      {0, 4096}, {1, 1}, {65535, 70000}, {70 * 1024 - 7, 3 * 1024 + 14}, {1030 * 1024 - 3, 8200},
      {3 * 1024 * 1024 - 5, 10}, {size - 1, 1}, {size - 3000, 3000}, {12345, 1000000}, {size, 0}};
  for (auto [off, len] : ranges) {
    const std::string got = must(qflash_bin() + " read --offset " + std::to_string(off) +
                                 " --length " + std::to_string(len) + " " + img);
    const std::string want = must("dd if=" + raw + " bs=1M iflag=skip_bytes,count_bytes skip=" +
                                  std::to_string(off) + " count=" + std::to_string(len) +
                                  " status=none");
    ASSERT_EQ(want.size(), len);
    EXPECT_TRUE(got == want) << "range " << off << "+" << len;
  }
  EXPECT_EQ(must(qflash_bin() + " read " + img), must("cat " + raw));
}

TEST_F(ReadAndInfo, ReadPastTheEndIsRefused) {
  const std::string img = *dir / "top.qcow2";
  CommandResult r = run(qflash_bin() + " read --offset 5243392 --length 1 " + img);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("past the virtual size"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty());
  r = run(qflash_bin() + " read --offset 6M " + img);
  EXPECT_EQ(r.status, 1);
}

TEST_F(ReadAndInfo, InfoJsonFields) {
  const std::string info = must(qflash_bin() + " info --output=json " + (*dir / "top.qcow2"));
  for (const char* field :
       {"\"format\": \"qcow2\"", "\"version\": 3", "\"virtual-size\": 5243392",
        "\"cluster-size\": 65536", "\"compression\": \"deflate\"", "\"refcount-bits\": 16",
        "\"extended-l2\"", "\"lazy-refcounts\"", "\"depth\": 1", "\"depth\": 2",
        "\"format\": \"raw\""})
    EXPECT_NE(info.find(field), std::string::npos) << field << " missing from\n" << info;
  const std::string mid = must(qflash_bin() + " info --output=json " + (*dir / "mid.qcow2"));
  for (const char* field : {"\"compression\": \"zstd\"", "\"cluster-size\": 32768"})
    EXPECT_NE(mid.find(field), std::string::npos) << field << " missing from\n" << mid;
}

TEST_F(ReadAndInfo, InfoMatchesQemuImgInfo) {
  const std::string img = *dir / "top.qcow2";
  const std::string ours = must(qflash_bin() + " info --output=json " + img);
  const std::string theirs = must("qemu-img info --output=json " + img);
  EXPECT_NE(theirs.find("\"virtual-size\": 5243392"), std::string::npos) << theirs;
  EXPECT_NE(ours.find("\"virtual-size\": 5243392"), std::string::npos) << ours;
  const std::string human = must(qflash_bin() + " info " + img);
  EXPECT_NE(human.find("5 MiB (5243392 bytes)"), std::string::npos) << human;
}

TEST(Info, ExternalDataFileAndSnapshots) {
  ScratchDir dir;
  must("cd " + quote(dir.path()) +
       " && qemu-img create -q -f qcow2 -o data_file=e.data,data_file_raw=on e.qcow2 1M");
  const std::string info = must("cd " + quote(dir.path()) + " && " + qflash_bin() +
                                " info --output=json e.qcow2");
  EXPECT_NE(info.find("\"data-file\": \"e.data\""), std::string::npos) << info;
  EXPECT_NE(info.find("\"data-file-raw\""), std::string::npos) << info;
  qcow2_create(dir / "s.qcow2", "1M");
  must("qemu-img snapshot -c one " + (dir / "s.qcow2") + " && qemu-img snapshot -c two " +
       (dir / "s.qcow2"));
  EXPECT_NE(must(qflash_bin() + " info --output=json " + (dir / "s.qcow2")).find("\"snapshots\": 2"),
            std::string::npos);
}

}  // namespace
}  // namespace qflash::test
