// qflash partitions against sgdisk, sfdisk and fdisk on disks they built,
// converted by qemu-img (plain and compressed); damaged tables refused or,
// for a damaged primary GPT, read from the backup with a warning.
#include <gtest/gtest.h>

#include "tests/test_partitions_disks.h"

namespace qflash::test {
namespace {

CommandResult list(const std::string& image, const std::string& extra = "--output=json") {
  return run(qflash_bin() + " partitions " + quote(image) + " " + extra);
}

// What sgdisk says of a disk: -p, and -i N for each partition (index N-1).
struct SgdiskView {
  std::string print;
  std::vector<std::string> info;
};

SgdiskView sgdisk_view(const std::string& disk, unsigned count) {
  SgdiskView v{must("sgdisk -p " + disk), {}};
  for (unsigned n = 1; n <= count; ++n)
    v.info.push_back(must("sgdisk -i " + std::to_string(n) + " " + disk));
  return v;
}

// Checks our listing of `image` against sgdisk's view of the disk it holds;
// returns our JSON partition lines.
std::map<unsigned, std::string> expect_like_sgdisk(const SgdiskView& want, const std::string& image,
                                                   uint32_t ss) {
  CommandResult r = list(image);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(json_field(r.out, "table"), "gpt");
  EXPECT_EQ(json_field(r.out, "sector-size"), std::to_string(ss));
  EXPECT_EQ(json_field(r.out, "backup-header-used"), "false");
  EXPECT_EQ(json_field(r.out, "disk-id"), after(want.print, "Disk identifier (GUID)"));
  auto parts = json_partitions(r.out);
  EXPECT_EQ(parts.size(), want.info.size()) << r.out;
  for (unsigned n = 1; n <= want.info.size(); ++n) {
    SCOPED_TRACE("partition " + std::to_string(n));
    const std::string& line = parts[n];
    const std::string& info = want.info[n - 1];
    const std::string code = after(info, "Partition GUID code");
    EXPECT_EQ(json_field(line, "type"), code.substr(0, code.find(' ')));
    EXPECT_EQ(json_field(line, "guid"), after(info, "Partition unique GUID"));
    const std::string first = after(info, "First sector"), last = after(info, "Last sector");
    EXPECT_EQ(json_field(line, "first-sector"), first.substr(0, first.find(' ')));
    EXPECT_EQ(json_field(line, "last-sector"), last.substr(0, last.find(' ')));
    EXPECT_EQ("'" + json_field(line, "name") + "'", after(info, "Partition name"));
    const uint64_t f = std::stoull(first), l = std::stoull(last);
    EXPECT_EQ(json_field(line, "offset"), std::to_string(f * ss));
    EXPECT_EQ(json_field(line, "size"), std::to_string((l - f + 1) * ss));
  }
  return parts;
}

TEST(Partitions, GptFivePartitionsLikeSgdisk) {
  ScratchDir dir;
  std::string raw = make_gpt5(dir);
  const SgdiskView want = sgdisk_view(raw, 5);
  expect_like_sgdisk(want, convert(raw, dir / "plain.qcow2", false), 512);
  auto parts = expect_like_sgdisk(want, convert(raw, dir / "packed.qcow2", true), 512);
  // sfdisk -l spells the type names as we do.
  const std::string sfdisk = must("sfdisk -l -o Device,Type " + raw);
  for (const auto& [n, line] : parts)
    EXPECT_NE(
        sfdisk.find("gpt5.raw" + std::to_string(n) + " " + json_field(line, "type-name") + "\n"),
        std::string::npos)
        << sfdisk;
  CommandResult human = list(dir / "packed.qcow2", "");
  ASSERT_EQ(human.status, 0) << human.err;
  EXPECT_NE(human.out.find("GPT, 512-byte sectors"), std::string::npos) << human.out;
  EXPECT_NE(human.out.find("Données ü€"), std::string::npos) << human.out;
  EXPECT_TRUE(
      std::regex_search(human.out, std::regex("\\n +2 +10240 +43007 +16 MiB \\(16777216\\) +Linux "
                                              "root \\(x86-64\\) +[0-9A-F-]{36} +root\\n")))
      << human.out;
}

TEST(Partitions, MbrPrimariesExtendedLogicalsLikeSfdisk) {
  ScratchDir dir;
  std::string raw = make_mbr(dir);
  const std::string want = must("sfdisk --json " + raw);
  const std::string names = must("sfdisk -l -o Device,Type " + raw);
  for (bool compress : {false, true}) {
    SCOPED_TRACE(compress ? "compressed" : "plain");
    CommandResult r = list(convert(raw, dir / "mbr.qcow2", compress));
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(json_field(r.out, "table"), "mbr");
    EXPECT_EQ(json_field(r.out, "disk-id"), "0x1234abcd");
    auto parts = json_partitions(r.out);
    std::regex entry(
        "\"node\": \"[^\"]*?raw(\\d+)\",\\s*\"start\": (\\d+),\\s*\"size\": (\\d+),\\s*\"type\": "
        "\"(\\w+)\"(,\\s*\"bootable\": true)?");
    unsigned seen = 0;
    for (auto it = std::sregex_iterator(want.begin(), want.end(), entry);
         it != std::sregex_iterator(); ++it, ++seen) {
      const auto& m = *it;
      const unsigned n = unsigned(std::stoul(m[1]));
      SCOPED_TRACE("partition " + std::to_string(n));
      ASSERT_TRUE(parts.count(n)) << r.out;
      const std::string& line = parts[n];
      const uint64_t start = std::stoull(m[2]), size = std::stoull(m[3]);
      EXPECT_EQ(json_field(line, "first-sector"), std::to_string(start));
      EXPECT_EQ(json_field(line, "last-sector"), std::to_string(start + size - 1));
      EXPECT_EQ(json_field(line, "size"), std::to_string(size * 512));
      EXPECT_EQ(json_field(line, "type"), (m[4].length() == 1 ? "0x0" : "0x") + m[4].str());
      EXPECT_EQ(json_field(line, "bootable"), m[5].matched ? "true" : "false");
      char uuid[16];
      std::snprintf(uuid, sizeof uuid, "1234abcd-%02x", n);
      EXPECT_EQ(json_field(line, "guid"), uuid);
      EXPECT_NE(names.find("mbr.raw" + std::to_string(n) + " " + json_field(line, "type-name")),
                std::string::npos)
          << names;
    }
    EXPECT_EQ(seen, 7u) << want;
    EXPECT_EQ(parts.size(), 7u) << r.out;
  }
}

TEST(Partitions, Gpt4096ByteSectorsLikeFdisk) {
  ScratchDir dir;
  std::string raw = make_gpt4k(dir);
  CommandResult r = list(convert(raw, dir / "gpt4k.qcow2", true));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(json_field(r.out, "sector-size"), "4096");
  auto parts = json_partitions(r.out);
  ASSERT_EQ(parts.size(), 2u) << r.out;
  const std::string fdisk = must("fdisk -b 4096 -l -o Device,Start,End,Type-UUID,UUID,Name " + raw);
  EXPECT_NE(fdisk.find("Disk identifier: " + json_field(r.out, "disk-id")), std::string::npos)
      << fdisk;
  for (unsigned n : {1u, 2u}) {
    const std::string& line = parts[n];
    std::string row = "gpt4k.raw" + std::to_string(n) + " +" + json_field(line, "first-sector") +
                      " +" + json_field(line, "last-sector") + " " + json_field(line, "type") +
                      " " + json_field(line, "guid") + " ?" + json_field(line, "name");
    EXPECT_TRUE(std::regex_search(fdisk, std::regex(row))) << row << "\n" << fdisk;
    EXPECT_EQ(json_field(line, "offset"),
              std::to_string(std::stoull(json_field(line, "first-sector")) * 4096));
  }
  EXPECT_EQ(json_field(parts[2], "name"), "root fs");
  EXPECT_EQ(json_field(parts[2], "size"), std::to_string(8 << 20));
}

TEST(Partitions, Gpt4096ByteSectorsLikeSgdiskOnA4KLoopDevice) {
  ScratchDir dir;
  std::string raw = dir / "loop4k.raw";
  must("truncate -s 16M " + raw);
  SgdiskView want;
  {
    LoopDevice loop(raw, {.sector_size = 4096});
    if (loop.path().empty()) GTEST_SKIP() << "no loop device available";
    must("sgdisk -n1:0:+4M -t1:ef00 -c1:esp -n2:0:0 -t2:8304 -c2:'root fs' " + loop.path());
    want = sgdisk_view(loop.path(), 2);
  }
  ASSERT_NE(want.print.find("Sector size (logical/physical): 4096/"), std::string::npos) << want.print;
  scribble(raw, 1280, 4090, 4096);
  std::string img = convert(raw, dir / "loop4k.qcow2", true);
  auto parts = expect_like_sgdisk(want, img, 4096);
  EXPECT_EQ(json_field(parts[2], "first-sector"), "1280");
  // And the bytes of partition 2, as dd cuts them from qemu-img's raw.
  qemu_raw(img, dir / "oracle.raw");
  must("dd if=" + quote(dir / "oracle.raw") + " of=" + quote(dir / "want") +
       " bs=4096 skip=1280 count=2811 status=none");
  CommandResult r = run(qflash_bin() + " write " + img + " --partition 2=" + quote(dir / "got"));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(first_difference(dir / "want", dir / "got"), -1);
}

TEST(Partitions, DamagedPrimaryGptReadFromBackup) {
  ScratchDir dir;
  std::string raw = make_gpt5(dir);
  const std::string good = list(convert(raw, dir / "good.qcow2", false)).out;
  // First the header (a disk GUID byte: header CRC), then only the entries.
  for (uint64_t offset : {512u + 60u, 1024u + 56u}) {
    SCOPED_TRACE("byte " + std::to_string(offset));
    std::string copy = dir / "damaged.raw";
    must("cp --sparse=always " + raw + " " + copy);
    flip_byte(copy, offset);
    CommandResult r = list(convert(copy, dir / "damaged.qcow2", true));
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.err.find("warning"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(offset < 1024 ? "header CRC mismatch" : "entry array CRC mismatch"),
              std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("backup header at sector 131071"), std::string::npos) << r.err;
    EXPECT_EQ(json_field(r.out, "backup-header-used"), "true");
    EXPECT_EQ(json_partitions(r.out), json_partitions(good));
    EXPECT_EQ(json_field(r.out, "disk-id"), json_field(good, "disk-id"));
  }
}

TEST(Partitions, BothGptHeadersDamagedRefused) {
  ScratchDir dir;
  std::string raw = make_gpt5(dir);
  flip_byte(raw, 512 + 60);
  flip_byte(raw, (64 << 20) - 512 + 60);
  CommandResult r = list(convert(raw, dir / "bad.qcow2", false), "");
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find("bad.qcow2: no valid GPT"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("backup header at sector 131071: header CRC mismatch"), std::string::npos)
      << r.err;
}

// Sector numbers of the EBRs of the MBR disk's extended partition.
std::vector<uint64_t> ebr_chain(const std::vector<uint8_t>& disk) {
  auto le32 = [&](size_t off) {
    return uint64_t(disk[off]) | uint64_t(disk[off + 1]) << 8 | uint64_t(disk[off + 2]) << 16 |
           uint64_t(disk[off + 3]) << 24;
  };
  const uint64_t ext = le32(446 + 3 * 16 + 8);  // slot 4
  std::vector<uint64_t> chain{ext};
  for (int i = 0; i < 16; ++i) {
    const size_t link = size_t(chain.back()) * 512 + 446 + 16;
    if (disk[link + 4] == 0) break;
    chain.push_back(ext + le32(link + 8));
  }
  return chain;
}

TEST(Partitions, ExtendedPartitionLoopRefused) {
  ScratchDir dir;
  std::string raw = make_mbr(dir);
  auto chain = ebr_chain(read_file(raw));
  ASSERT_EQ(chain.size(), 3u);
  // The last EBR links back to the first one (offset 0 in the extended one).
  patch_file(raw, chain.back() * 512 + 446 + 16,
             {0, 0, 0, 0, 0x05, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0});
  CommandResult r = list(convert(raw, dir / "loop.qcow2", true));
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("loop.qcow2: extended partition loop: the EBR at sector " +
                       std::to_string(chain.back()) + " links back to the EBR at sector " +
                       std::to_string(chain.front())),
            std::string::npos)
      << r.err;
}

TEST(Partitions, DiskWithoutTableSaysSo) {
  ScratchDir dir;
  std::string img = dir / "blank.qcow2";
  must("qemu-img create -q -f qcow2 " + img + " 8M");
  must("qemu-io -c 'write -P 0x33 0 64k' " + img);
  CommandResult r = list(img, "");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("no partition table"), std::string::npos) << r.out;
  r = list(img);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(json_field(r.out, "table"), "none");
  EXPECT_TRUE(json_partitions(r.out).empty());
}

TEST(Partitions, UsageErrors) {
  ScratchDir dir;
  std::string img = dir / "blank.qcow2";
  must("qemu-img create -q -f qcow2 " + img + " 1M");
  EXPECT_EQ(run(qflash_bin() + " partitions").status, 1);
  EXPECT_EQ(run(qflash_bin() + " partitions " + img + " --sector-size=1024").status, 1);
  EXPECT_EQ(run(qflash_bin() + " partitions " + img + " --output=xml").status, 1);
  CommandResult help = run(qflash_bin() + " partitions --help");
  EXPECT_EQ(help.status, 0);
  EXPECT_NE(help.out.find("Usage: qflash partitions"), std::string::npos);
}

}  // namespace
}  // namespace qflash::test
