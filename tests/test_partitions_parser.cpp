// The partition parser on bytes in memory: tables made by sgdisk/fdisk, then
// damaged on purpose (CRCs recomputed so the intended check is the one that
// fires); hand-built MBR chains; random damage never crashes or hangs.
#include <gtest/gtest.h>
#include <libdeflate.h>

#include <cstring>
#include <random>

#include "engine/partitions/partitions.h"
#include "tests/test_partitions_disks.h"

namespace qflash::test {
namespace {

using Bytes = std::vector<uint8_t>;

Result<PartitionTable> parse(const Bytes& disk, PartitionOptions options = {}) {
  return read_partition_table(
      [&](std::span<uint8_t> buf, uint64_t offset) -> Status {
        if (offset + buf.size() > disk.size()) return corrupt("read past the end");
        std::memcpy(buf.data(), disk.data() + offset, buf.size());
        return {};
      },
      disk.size(), "mem", options);
}

std::string error_of(const Bytes& disk) {
  auto t = parse(disk);
  return t ? "<no error>" : t.error().message;
}

uint32_t get32(const Bytes& d, uint64_t off) {
  uint32_t v;
  std::memcpy(&v, &d[off], 4);
  return v;
}
uint64_t get64(const Bytes& d, uint64_t off) {
  uint64_t v;
  std::memcpy(&v, &d[off], 8);
  return v;
}
void put32(Bytes& d, uint64_t off, uint32_t v) { std::memcpy(&d[off], &v, 4); }
void put64(Bytes& d, uint64_t off, uint64_t v) { std::memcpy(&d[off], &v, 8); }

// A 1 MiB GPT disk from sgdisk: three partitions of 128 KiB.
Bytes gpt_disk() {
  ScratchDir dir;
  std::string raw = dir / "d.raw";
  must("truncate -s 1M " + raw);
  must("sgdisk -a 8 -n1:40:+128K -n2:0:+128K -n3:0:+128K -c3:x " + raw);
  return read_file(raw);
}

constexpr uint64_t kPrimary = 512;
uint64_t backup_of(const Bytes& d) { return d.size() - 512; }

// Recomputes the entry-array CRC and the header CRC of the header at `h`,
// clamping to sane values so a damaged field cannot make this read wildly.
void fix_crcs(Bytes& d, uint64_t h) {
  const uint64_t entries = get64(d, h + 72) * 512;
  const uint64_t bytes = uint64_t(get32(d, h + 80)) * get32(d, h + 84);
  if (entries < d.size() && bytes <= d.size() - entries)
    put32(d, h + 88, libdeflate_crc32(0, &d[entries], bytes));
  put32(d, h + 16, 0);
  put32(d, h + 16, libdeflate_crc32(0, &d[h], get32(d, h + 12)));
}

// Applies `edit(disk, header offset, entry array offset)` to both copies.
template <typename Edit>
void edit_both(Bytes& d, Edit edit) {
  for (uint64_t h : {kPrimary, backup_of(d)}) {
    edit(d, h, get64(d, h + 72) * 512);
    fix_crcs(d, h);
  }
}

TEST(PartitionParser, GptReadsSgdiskDisk) {
  Bytes d = gpt_disk();
  auto t = parse(d);
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->kind, TableKind::Gpt);
  ASSERT_EQ(t->partitions.size(), 3u);
  EXPECT_EQ(t->partitions[2].first_sector, 552u);
  EXPECT_EQ(t->partitions[2].name, "x");
  EXPECT_EQ(t->partitions[2].offset, 552u * 512);
  EXPECT_FALSE(t->backup_used);
}

TEST(PartitionParser, GptPartitionOutsideUsableRefused) {
  Bytes d = gpt_disk();
  edit_both(d, [](Bytes& b, uint64_t h, uint64_t e) {
    put64(b, e + 2 * 128 + 40, get64(b, h + 48) + 1);
  });
  EXPECT_NE(error_of(d).find(
                "mem: GPT partition 3 (sectors 552-2015) lies outside the usable sectors 34-2014"),
            std::string::npos)
      << error_of(d);
}

TEST(PartitionParser, GptOverlapRefused) {
  Bytes d = gpt_disk();
  edit_both(d, [](Bytes& b, uint64_t, uint64_t e) { put64(b, e + 128 + 32, 200); });
  EXPECT_NE(error_of(d).find("partitions 1 (sectors 40-295) and 2 (sectors 200-551) overlap"),
            std::string::npos)
      << error_of(d);
}

TEST(PartitionParser, GptAbsurdEntryCountRefused) {
  Bytes d = gpt_disk();
  edit_both(d, [](Bytes& b, uint64_t h, uint64_t) { put32(b, h + 80, 1000000); });
  const std::string e = error_of(d);
  EXPECT_NE(e.find("no valid GPT"), std::string::npos) << e;
  EXPECT_NE(e.find("entry array of 1000000 entries of 128 bytes is absurd"), std::string::npos)
      << e;
  Bytes z = gpt_disk();
  edit_both(z, [](Bytes& b, uint64_t h, uint64_t) { put32(b, h + 84, 100); });
  EXPECT_NE(error_of(z).find("entries of 100 bytes is absurd"), std::string::npos) << error_of(z);
}

TEST(PartitionParser, GptEntryArrayPastTheEndRefused) {
  Bytes d = gpt_disk();
  edit_both(d, [&](Bytes& b, uint64_t h, uint64_t) { put64(b, h + 72, b.size() / 512 - 2); });
  const std::string e = error_of(d);
  EXPECT_NE(e.find("primary header at sector 1 (512-byte sectors): entry array at sector 2046 (32 "
                   "sectors) lies past the end of the disk (2048 sectors)"),
            std::string::npos)
      << e;
}

TEST(PartitionParser, GptHeaderClaimingAnotherSectorRefused) {
  Bytes d = gpt_disk();
  edit_both(d, [](Bytes& b, uint64_t h, uint64_t) { put64(b, h + 24, 7); });
  EXPECT_NE(error_of(d).find("header says it is at sector 7, found at 1"), std::string::npos)
      << error_of(d);
}

TEST(PartitionParser, GptNamesUtf16ToUtf8) {
  Bytes d = gpt_disk();
  // 'A', U+1F600 as a surrogate pair, an unpaired high surrogate, 'B'.
  const uint16_t name[] = {'A', 0xd83d, 0xde00, 0xd800, 'B', 0};
  edit_both(d, [&](Bytes& b, uint64_t, uint64_t e) { std::memcpy(&b[e + 56], name, sizeof name); });
  auto t = parse(d);
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->partitions[0].name,
            "A\xF0\x9F\x98\x80\xEF\xBF\xBD"
            "B");
}

TEST(PartitionParser, Gpt4096PrimaryGoneBackupFound) {
  ScratchDir dir;
  Bytes d = read_file(make_gpt4k(dir));
  std::memset(&d[4096], 0, 4096);  // no signature left at LBA 1 of either size
  auto t = parse(d);
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->sector_size, 4096u);
  EXPECT_TRUE(t->backup_used);
  ASSERT_EQ(t->partitions.size(), 2u);
  EXPECT_EQ(t->partitions[1].offset, 1280u * 4096);
  ASSERT_EQ(t->warnings.size(), 1u);
  EXPECT_NE(t->warnings[0].find("backup header at sector 16383"), std::string::npos)
      << t->warnings[0];
}

// A hand-built MBR disk of `sectors` sectors.
struct MbrDisk {
  Bytes d;
  explicit MbrDisk(uint64_t sectors) : d(sectors * 512) { sign(0); }
  void sign(uint64_t lba) {
    d[lba * 512 + 510] = 0x55;
    d[lba * 512 + 511] = 0xaa;
  }
  void entry(uint64_t lba, int slot, uint8_t type, uint32_t start, uint32_t count) {
    uint8_t* e = &d[lba * 512 + 446 + 16 * slot];
    e[4] = type;
    std::memcpy(e + 8, &start, 4);
    std::memcpy(e + 12, &count, 4);
  }
};

TEST(PartitionParser, MbrLogicalChainNumberedFromFive) {
  MbrDisk m(4096);
  m.entry(0, 0, 0x83, 64, 64);
  m.entry(0, 2, 0x0f, 1024, 2048);
  for (uint32_t i = 0; i < 3; ++i) {  // EBRs at 1024, 1280, 1536
    const uint32_t ebr = 1024 + 256 * i;
    m.sign(ebr);
    m.entry(ebr, 0, 0x83, 8, 100 + i);
    if (i < 2) m.entry(ebr, 1, 0x05, 256 * (i + 1), 256);
  }
  auto t = parse(m.d);
  ASSERT_TRUE(t) << t.error().message;
  ASSERT_EQ(t->partitions.size(), 5u);
  EXPECT_EQ(t->partitions[0].number, 1u);
  EXPECT_EQ(t->partitions[1].number, 3u);
  EXPECT_TRUE(t->partitions[1].extended);
  for (unsigned i = 0; i < 3; ++i) {
    EXPECT_EQ(t->partitions[2 + i].number, 5 + i);
    EXPECT_EQ(t->partitions[2 + i].first_sector, 1024 + 256 * i + 8);
    EXPECT_EQ(t->partitions[2 + i].length, (100 + i) * 512u);
  }
  EXPECT_EQ(t->numbers(), "1, 3, 5, 6, 7");
}

TEST(PartitionParser, MbrEndlessChainStops) {
  MbrDisk m(2048);
  m.entry(0, 0, 0x05, 1, 2000);
  for (uint32_t lba = 1; lba < 1000; ++lba) {  // 999 EBRs, each linking on
    m.sign(lba);
    m.entry(lba, 1, 0x05, lba, 1);
  }
  EXPECT_NE(error_of(m.d).find("goes on past 256 EBRs"), std::string::npos) << error_of(m.d);
}

TEST(PartitionParser, MbrLoopRefused) {
  MbrDisk m(2048);
  m.entry(0, 0, 0x05, 100, 1000);
  m.sign(100);
  m.entry(100, 1, 0x05, 50, 10);
  m.sign(150);
  m.entry(150, 1, 0x05, 0, 10);  // back to the first EBR
  EXPECT_NE(
      error_of(m.d).find(
          "extended partition loop: the EBR at sector 150 links back to the EBR at sector 100"),
      std::string::npos)
      << error_of(m.d);
}

TEST(PartitionParser, MbrMalformedRefused) {
  MbrDisk past(2048);
  past.entry(0, 1, 0x83, 1000, 2000);
  EXPECT_NE(error_of(past.d).find(
                "MBR partition 2 (sectors 1000-2999) lies outside the disk (2048 sectors"),
            std::string::npos)
      << error_of(past.d);
  MbrDisk overlap(2048);
  overlap.entry(0, 0, 0x83, 10, 100);
  overlap.entry(0, 1, 0x07, 50, 100);
  EXPECT_NE(
      error_of(overlap.d).find("partitions 1 (sectors 10-109) and 2 (sectors 50-149) overlap"),
      std::string::npos)
      << error_of(overlap.d);
  MbrDisk outside(2048);
  outside.entry(0, 0, 0x05, 100, 100);
  outside.sign(100);
  outside.entry(100, 0, 0x83, 10, 500);
  EXPECT_NE(
      error_of(outside.d).find("logical partition in the EBR at sector 100 (sectors 110-609) lies "
                               "outside extended partition 1 (sectors 100-199)"),
      std::string::npos)
      << error_of(outside.d);
  MbrDisk unsigned_ebr(2048);
  unsigned_ebr.entry(0, 0, 0x05, 100, 100);
  unsigned_ebr.sign(100);
  unsigned_ebr.entry(100, 1, 0x05, 20, 10);
  EXPECT_NE(error_of(unsigned_ebr.d).find("EBR at sector 120 lacks the 0x55AA signature"),
            std::string::npos)
      << error_of(unsigned_ebr.d);
}

TEST(PartitionParser, Mbr4096ByteSectorsOnRequest) {
  MbrDisk m(2048);  // 1 MiB: 256 sectors of 4096 bytes
  m.entry(0, 0, 0x83, 10, 5);
  auto t = parse(m.d, {.sector_size = 4096});
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->sector_size, 4096u);
  EXPECT_EQ(t->partitions[0].offset, 40960u);
  EXPECT_EQ(t->partitions[0].length, 20480u);
  m.entry(0, 1, 0x83, 250, 10);
  EXPECT_NE(error_of(m.d).find("<no error>"), std::string::npos);  // fits in 512-byte sectors
  EXPECT_FALSE(parse(m.d, {.sector_size = 4096}));
}

// The hint is for MBR: a GPT says its own sector size by where its header
// stands, so --sector-size=4096 on a 512-byte GPT (and the reverse) still finds it.
TEST(PartitionParser, GptFoundWhateverTheSectorSizeHint) {
  const Bytes d = gpt_disk();
  for (uint32_t hint : {512u, 4096u}) {
    auto t = parse(d, {.sector_size = hint});
    ASSERT_TRUE(t) << hint << ": " << t.error().message;
    EXPECT_EQ(t->kind, TableKind::Gpt);
    EXPECT_EQ(t->sector_size, 512u);
    EXPECT_EQ(t->partitions.size(), 3u);
  }
}

TEST(PartitionParser, ProtectiveMbrOnATinyDisk) {
  MbrDisk m(4);
  m.entry(0, 0, 0xee, 1, 3);
  EXPECT_NE(error_of(m.d).find("the disk is too small for a GPT of 4096-byte sectors"),
            std::string::npos)
      << error_of(m.d);
}

TEST(PartitionParser, NoTable) {
  EXPECT_EQ(parse(Bytes(100))->kind, TableKind::None);      // smaller than a sector
  EXPECT_EQ(parse(Bytes(1 << 20))->kind, TableKind::None);  // zeros
  MbrDisk fat(2048);                                        // a boot sector, not a table
  fat.d[446] = 0x29;
  EXPECT_EQ(parse(fat.d)->kind, TableKind::None);
  MbrDisk empty(2048);  // a table with nothing in it
  auto t = parse(empty.d);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->kind, TableKind::Mbr);
  EXPECT_TRUE(t->partitions.empty());
  EXPECT_FALSE(parse(empty.d, {.sector_size = 1024}));
}

TEST(PartitionParser, ReadErrorsPropagate) {
  auto t = read_partition_table(
      [](std::span<uint8_t>, uint64_t) -> Status { return io_error("read mem", EIO); }, 1 << 20,
      "mem");
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().kind, ErrorKind::Io);
}

// Random damage to the table sectors, half the time with CRCs made right
// again: every parse ends with a table or an error.
TEST(PartitionParser, RandomDamageNeverCrashes) {
  const Bytes gpt = gpt_disk();
  MbrDisk mbr(4096);
  mbr.entry(0, 0, 0x83, 64, 64);
  mbr.entry(0, 1, 0x05, 1024, 2048);
  for (uint32_t i = 0; i < 4; ++i) {
    mbr.sign(1024 + 64 * i);
    mbr.entry(1024 + 64 * i, 0, 0x83, 8, 16);
    mbr.entry(1024 + 64 * i, 1, 0x05, 64 * (i + 1), 64);
  }
  std::mt19937_64 rng(5);
  int ok = 0, refused = 0;
  for (int i = 0; i < 3000; ++i) {
    Bytes d = i % 2 ? gpt : mbr.d;
    const int flips = 1 + int(rng() % 8);
    for (int f = 0; f < flips; ++f) {
      // The first 34 sectors, the EBRs or the backup at the end.
      uint64_t spots[] = {rng() % (34 * 512), 1024 * 512 + rng() % (256 * 512),
                          d.size() - 1 - rng() % (33 * 512)};
      d[spots[rng() % 3]] ^= uint8_t(1 + rng() % 255);
    }
    if (i % 2 && i % 4 == 1) {
      fix_crcs(d, kPrimary);
      fix_crcs(d, backup_of(d));
    }
    auto t = parse(d);
    (t ? ok : refused)++;
    if (t) {
      for (const auto& p : t->partitions) EXPECT_LE(p.offset + p.length, d.size());
    }
  }
  EXPECT_GT(ok, 0);
  EXPECT_GT(refused, 0);
}

}  // namespace
}  // namespace qflash::test
