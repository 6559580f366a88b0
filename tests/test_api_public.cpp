// The public API (<qflash/qflash.h>) in process: open, info, read, map and
// partitions of an image against the raw disk it was made from; flash of the
// whole disk and of one partition with progress, verification and the
// report; errors as values; the log sink; sizes; and the example program.
#include <qflash/qflash.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <mutex>

#include "tests/support/compare.h"
#include "tests/support/support.h"

namespace qflash::test {
namespace {

// A 16 MiB GPT disk with two partitions of random data, and a compressed
// QCOW2 image of it; made once, shared by the tests (each writes its own targets).
struct Disk {
  ScratchDir dir;
  std::string raw = dir / "disk.raw";
  std::string image = dir / "disk.qcow2";
  Disk() {
    must("truncate -s 16M " + raw);
    must("sgdisk -n1:2048:+4M -n2:0:+6M -c2:data " + raw);
    for (uint64_t mib : {1, 3, 7, 11})
      must("dd if=/dev/urandom of=" + raw + " bs=64K count=5 seek=" + std::to_string(mib * 16) +
           " conv=notrunc status=none");
    must("qemu-img convert -q -c -f raw -O qcow2 " + raw + " " + image);
  }
  std::vector<uint8_t> bytes() const { return read_file(raw); }
};

class PublicApi : public testing::Test {
 protected:
  static void SetUpTestSuite() { shared_ = new Disk; }
  static void TearDownTestSuite() { delete shared_; }
  static Disk* shared_;
  Disk& disk = *shared_;
};
Disk* PublicApi::shared_ = nullptr;

TEST_F(PublicApi, ReadsInfoMapAndPartitionsLikeTheRawDisk) {
  auto image = Image::open(disk.image);
  ASSERT_TRUE(image) << image.error().message;
  EXPECT_EQ(image->size(), 16u << 20);
  EXPECT_EQ(image->name(), disk.image);
  const ImageInfo info = image->info();
  EXPECT_EQ(info.format, "qcow2");
  EXPECT_EQ(info.version, 3u);
  EXPECT_EQ(info.cluster_size, 65536u);
  ASSERT_EQ(info.chain.size(), 1u);
  ASSERT_TRUE(image->validate());

  const auto want = disk.bytes();
  for (uint64_t offset : {0ull, 511ull, 1048576ull + 7, 7340031ull, (16ull << 20) - 100}) {
    std::vector<uint8_t> got(100);
    ASSERT_TRUE(image->read(got, offset));
    EXPECT_TRUE(std::equal(got.begin(), got.end(), want.begin() + ptrdiff_t(offset))) << offset;
  }

  auto map = image->map();
  ASSERT_TRUE(map) << map.error().message;
  uint64_t next = 0;
  for (const MapRun& r : *map) {
    EXPECT_EQ(r.start, next);
    next += r.length;
  }
  EXPECT_EQ(next, image->size());

  auto table = image->partitions();
  ASSERT_TRUE(table) << table.error().message;
  EXPECT_EQ(table->kind, "gpt");
  ASSERT_EQ(table->partitions.size(), 2u);
  EXPECT_EQ(table->partitions[0].offset, 2048u * 512);
  EXPECT_EQ(table->partitions[1].name, "data");
  EXPECT_EQ(table->partitions[1].length, 6u << 20);
  // The MBR hint does not hide a GPT.
  auto hinted = image->partitions(4096);
  ASSERT_TRUE(hinted) << hinted.error().message;
  EXPECT_EQ(hinted->kind, "gpt");
  EXPECT_EQ(hinted->sector_size, 512u);
}

TEST_F(PublicApi, FlashesWholeDiskAndPartitionWithProgressAndVerify) {
  auto image = Image::open(disk.image);
  ASSERT_TRUE(image) << image.error().message;
  const auto want = disk.bytes();

  FlashOptions options;
  options.verify = true;
  options.memory = 4 << 20;
  size_t calls = 0;
  uint64_t last_done = 0;
  options.progress = [&](std::span<const FlashProgress> p) {
    ++calls;
    ASSERT_EQ(p.size(), 2u);
    last_done = p[0].done;
  };
  const std::string whole = disk.dir / "whole.raw", part = disk.dir / "part2.raw";
  auto report = flash(*image, {{whole, 0}, {part, 2}}, options);
  ASSERT_FALSE(!report) << report.error().message;
  ASSERT_EQ(report->targets.size(), 2u);
  EXPECT_GT(calls, 0u);
  EXPECT_EQ(last_done, want.size());
  for (const auto& t : report->targets) {
    EXPECT_TRUE(t.status) << t.status.error().message;
    EXPECT_EQ(t.bytes, t.length);
    EXPECT_EQ(t.verified, std::optional<bool>(true));
    EXPECT_FALSE(t.interrupted);
  }
  EXPECT_EQ(report->targets[1].guest_start, (2048u + 8192u) * 512);
  EXPECT_EQ(read_file(whole), want);
  const auto p2 = read_file(part);
  ASSERT_EQ(p2.size(), 6u << 20);
  EXPECT_TRUE(std::equal(p2.begin(), p2.end(), want.begin() + (2048 + 8192) * 512));

  EXPECT_TRUE(verify(*image, {whole, 0}));
  EXPECT_TRUE(verify(*image, {part, 2}));
  flip_byte(part, 12345);
  Status bad = verify(*image, {part, 2});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().kind, ErrorKind::Target);
  EXPECT_NE(bad.error().message.find("at offset 12345"), std::string::npos) << bad.error().message;
}

TEST_F(PublicApi, ErrorsAreValuesAndNothingIsWritten) {
  auto missing = Image::open(disk.dir / "missing.qcow2");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().kind, ErrorKind::Io);

  auto ftp = Image::open("ftp://user:secret@host/disk.qcow2");
  ASSERT_FALSE(ftp);
  EXPECT_EQ(ftp.error().kind, ErrorKind::Unsupported);
  EXPECT_NE(ftp.error().message.find("unsupported URL scheme 'ftp'"), std::string::npos)
      << ftp.error().message;
  EXPECT_EQ(ftp.error().message.find("secret"), std::string::npos);

  const std::string overlay = disk.dir / "overlay.qcow2";
  must("qemu-img create -q -f qcow2 -b disk.qcow2 -F qcow2 " + overlay);
  ASSERT_TRUE(Image::open(overlay));
  OpenOptions no_backing;
  no_backing.backing = BackingPolicy::Refuse;
  auto refused = Image::open(overlay, no_backing);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().kind, ErrorKind::Usage);
  EXPECT_NE(refused.error().message.find("disk.qcow2"), std::string::npos);

  auto image = Image::open(disk.image);
  ASSERT_TRUE(image);
  std::vector<uint8_t> buf(10);
  EXPECT_FALSE(image->read(buf, image->size() - 5));

  const std::string target = disk.dir / "never.raw";
  EXPECT_TRUE(check_target(*image, {target, 0}));
  EXPECT_FALSE(fs::exists(target));  // checking creates nothing
  Status chardev = check_target(*image, {"/dev/null", 0});
  ASSERT_FALSE(chardev);
  EXPECT_EQ(chardev.error().kind, ErrorKind::Target);
  EXPECT_FALSE(check_target(*image, {target, 9}));
  auto no_such = flash(*image, {{target, 9}}, {});
  ASSERT_FALSE(no_such);
  EXPECT_NE(no_such.error().message.find("no partition 9 (partitions: 1, 2)"), std::string::npos)
      << no_such.error().message;
  EXPECT_FALSE(fs::exists(target));
}

TEST_F(PublicApi, StopFlagEndsTheRunWithAReport) {
  auto image = Image::open(disk.image);
  ASSERT_TRUE(image);
  std::atomic<bool> stop{true};
  FlashOptions options;
  options.stop = &stop;
  auto report = flash(*image, {{disk.dir / "t.raw", 0}}, options);
  ASSERT_FALSE(!report) << report.error().message;
  EXPECT_TRUE(report->interrupted);
  EXPECT_LT(report->targets[0].bytes, image->size());
  EXPECT_TRUE(report->targets[0].interrupted);
}

TEST_F(PublicApi, LogsOnlyThroughTheSink) {
  std::mutex mutex;
  std::vector<std::string> lines;
  set_log_sink([&](LogLevel level, std::string_view line) {
    std::lock_guard lock(mutex);
    if (level == LogLevel::Debug) lines.emplace_back(line);
  });
  {
    auto image = Image::open(disk.image);
    ASSERT_TRUE(image);
  }
  set_log_sink(nullptr);
  EXPECT_TRUE(std::any_of(lines.begin(), lines.end(), [](const std::string& l) {
    return l.find("QCOW2 v3") != std::string::npos;
  })) << lines.size() << " lines";
  const size_t before = lines.size();
  ASSERT_TRUE(Image::open(disk.image));
  EXPECT_EQ(lines.size(), before);

  // A sink for warnings only gets no debug lines.
  set_log_sink([&](LogLevel, std::string_view line) { lines.emplace_back(line); },
               LogLevel::Warning);
  ASSERT_TRUE(Image::open(disk.image));
  set_log_sink(nullptr);
  EXPECT_EQ(lines.size(), before);
}

// tools/example/flash_example.cpp, as built in the tree (on libqflash.so).
TEST_F(PublicApi, ExampleProgramFlashesAPartition) {
  const std::string target = disk.dir / "p1.raw";
  CommandResult r = run(std::string(QFLASH_BIN_DIR) + "/flash_example " + disk.image + " " +
                        target + " 1");
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("verified"), std::string::npos) << r.out;
  const auto want = disk.bytes(), got = read_file(target);
  ASSERT_EQ(got.size(), 4u << 20);
  EXPECT_TRUE(std::equal(got.begin(), got.end(), want.begin() + 2048 * 512));
  EXPECT_NE(run(std::string(QFLASH_BIN_DIR) + "/flash_example " + disk.image + " " + target +
                " 7").status, 0);
}

TEST(PublicApiSizes, HumanAndParsed) {
  EXPECT_EQ(human_size(512), "512 B");
  EXPECT_EQ(human_size(1536), "1.5 KiB");
  EXPECT_EQ(human_size(2ull << 30), "2 GiB");
  EXPECT_EQ(*parse_size("64K"), 65536u);
  EXPECT_EQ(*parse_size("1.5M"), 1572864u);
  EXPECT_EQ(*parse_size("2GiB"), 2ull << 30);
  auto bad = parse_size("12Q");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().kind, ErrorKind::Usage);
  EXPECT_FALSE(parse_size("0.5"));
  EXPECT_STRNE(version(), "");
}

}  // namespace
}  // namespace qflash::test
