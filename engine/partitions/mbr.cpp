// MBR: four primary slots (numbered 1-4 by slot, as Linux does); extended
// slots hold a chain of EBRs, each giving one logical partition (numbered
// from 5) and a link to the next. Every walk is bounded and loops refused.
#include <cstdio>
#include <set>

#include "engine/partitions/partition_formats.h"
#include "engine/partitions/partition_types.h"

namespace qflash {
namespace {

// Linux stops at 256 partitions per disk; no real chain comes close.
constexpr unsigned kMaxEbrs = 256;

struct MbrEntry {
  uint8_t boot, type;
  uint64_t start, count;  // in sectors; start relative to what holds the entry
  bool empty() const { return type == 0 || count == 0; }
};

MbrEntry entry(std::span<const uint8_t> sector, int i) {
  const uint8_t* e = sector.data() + kMbrEntries + 16 * i;
  return {e[0], e[4], load_le32(e + 8), load_le32(e + 12)};
}

Partition make_partition(unsigned number, const MbrEntry& e, uint64_t first, uint32_t ss,
                         uint32_t disk_id) {
  Partition p;
  p.number = number;
  p.first_sector = first;
  p.last_sector = first + e.count - 1;
  p.offset = first * ss;
  p.length = e.count * ss;
  char type[8], uuid[16];
  std::snprintf(type, sizeof type, "0x%02x", e.type);
  std::snprintf(uuid, sizeof uuid, "%08x-%02x", disk_id, number);
  p.type = type;
  p.type_name = mbr_type_name(e.type);
  p.guid = uuid;
  p.bootable = e.boot == 0x80;
  p.extended = mbr_type_is_extended(e.type);
  return p;
}

}  // namespace

bool mbr_signature(std::span<const uint8_t> s) { return s[510] == 0x55 && s[511] == 0xaa; }

bool mbr_protective(std::span<const uint8_t> s) {
  if (!mbr_signature(s)) return false;
  for (int i = 0; i < 4; ++i)
    if (entry(s, i).type == 0xee) return true;
  return false;
}

bool mbr_plausible(std::span<const uint8_t> s) {
  for (int i = 0; i < 4; ++i)
    if (uint8_t b = entry(s, i).boot; b != 0 && b != 0x80) return false;
  return true;
}

Status read_mbr(const Disk& disk, std::span<const uint8_t> sector0, uint32_t ss,
                PartitionTable& table) {
  table.kind = TableKind::Mbr;
  table.sector_size = ss;
  const uint64_t sectors = disk.size / ss;
  const uint32_t disk_id = load_le32(sector0.data() + kMbrDiskId);
  char id[16];
  std::snprintf(id, sizeof id, "0x%08x", disk_id);
  table.disk_id = id;

  std::vector<Partition> extended;
  for (int i = 0; i < 4; ++i) {
    MbrEntry e = entry(sector0, i);
    if (e.empty()) continue;
    const unsigned n = unsigned(i + 1);
    if (e.start == 0 || e.start + e.count > sectors)
      return disk.corrupt("MBR partition " + std::to_string(n) + " (" +
                          sectors_text(e.start, e.start + e.count - 1) +
                          ") lies outside the disk (" +
                          std::to_string(sectors) + " sectors of " + std::to_string(ss) +
                          " bytes)");
    table.partitions.push_back(make_partition(n, e, e.start, ss, disk_id));
    if (mbr_type_is_extended(e.type)) extended.push_back(table.partitions.back());
  }
  std::vector<const Partition*> outer;
  for (const auto& p : table.partitions) outer.push_back(&p);
  QF_TRY(check_no_overlap(disk, outer));

  unsigned number = 5;
  std::vector<uint8_t> ebr(512);
  for (const Partition& ext : extended) {
    std::set<uint64_t> seen;
    uint64_t lba = ext.first_sector;
    for (unsigned step = 0;; ++step) {
      if (step == kMaxEbrs)
        return disk.corrupt("the logical partition chain in extended partition " +
                            std::to_string(ext.number) + " goes on past " +
                            std::to_string(kMaxEbrs) + " EBRs");
      seen.insert(lba);
      QF_TRY(disk.read_at(ebr, lba * ss, "EBR"));
      if (!mbr_signature(ebr)) {
        if (step == 0) break;  // an extended partition with no logical ones yet
        return disk.corrupt("EBR at sector " + std::to_string(lba) + " lacks the 0x55AA signature");
      }
      uint64_t next = 0;
      for (int i = 0; i < 4; ++i) {
        MbrEntry e = entry(ebr, i);
        if (e.empty()) continue;
        // Links count from the extended partition, logicals from their EBR.
        const uint64_t first = (mbr_type_is_extended(e.type) ? ext.first_sector : lba) + e.start;
        const bool link = mbr_type_is_extended(e.type);
        if ((link ? first < ext.first_sector : e.start == 0) ||
            first + e.count - 1 > ext.last_sector)
          return disk.corrupt(std::string(link ? "EBR link" : "logical partition") +
                              " in the EBR at sector " + std::to_string(lba) + " (" +
                              sectors_text(first, first + e.count - 1) +
                              ") lies outside extended partition " + std::to_string(ext.number) +
                              " (" + sectors_text(ext.first_sector, ext.last_sector) + ")");
        if (link) {
          if (!next) next = first;
        } else {
          table.partitions.push_back(make_partition(number++, e, first, ss, disk_id));
        }
      }
      if (!next) break;
      if (seen.count(next))
        return disk.corrupt("extended partition loop: the EBR at sector " + std::to_string(lba) +
                            " links back to the EBR at sector " + std::to_string(next));
      lba = next;
    }
  }
  std::vector<const Partition*> data;
  for (const auto& p : table.partitions)
    if (!p.extended) data.push_back(&p);
  return check_no_overlap(disk, data);
}

}  // namespace qflash
