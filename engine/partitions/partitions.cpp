// Which table a disk holds: GPT when the MBR is protective (or "EFI PART"
// stands at LBA 1), else MBR when sector 0 looks like one, else none.
#include "engine/partitions/partitions.h"

#include <algorithm>
#include <array>

#include "engine/partitions/partition_formats.h"

namespace qflash {

Status Disk::read_at(std::span<uint8_t> buf, uint64_t offset, const char* what) const {
  if (offset > size || buf.size() > size - offset)
    return corrupt(std::string(what) + " at byte " + std::to_string(offset) + " (" +
                   std::to_string(buf.size()) + " bytes) lies past the end of the disk (" +
                   std::to_string(size) + " bytes)");
  return read(buf, offset);
}

Status check_no_overlap(const Disk& disk, std::vector<const Partition*> parts) {
  std::sort(parts.begin(), parts.end(), [](const Partition* a, const Partition* b) {
    return a->first_sector < b->first_sector;
  });
  const Partition* reach = nullptr;  // the one ending last so far
  for (const Partition* p : parts) {
    if (reach && p->first_sector <= reach->last_sector)
      return disk.corrupt(
          "partitions " + std::to_string(reach->number) + " (sectors " +
          std::to_string(reach->first_sector) + "-" + std::to_string(reach->last_sector) +
          ") and " + std::to_string(p->number) + " (sectors " + std::to_string(p->first_sector) +
          "-" + std::to_string(p->last_sector) + ") overlap");
    if (!reach || p->last_sector > reach->last_sector) reach = p;
  }
  return {};
}

const Partition* PartitionTable::find(unsigned number) const {
  for (const auto& p : partitions)
    if (p.number == number) return &p;
  return nullptr;
}

std::string PartitionTable::numbers() const {
  std::string s;
  for (const auto& p : partitions) s += (s.empty() ? "" : ", ") + std::to_string(p.number);
  return s.empty() ? "none" : s;
}

const char* table_kind_name(TableKind kind) {
  switch (kind) {
    case TableKind::Mbr: return "mbr";
    case TableKind::Gpt: return "gpt";
    case TableKind::None: break;
  }
  return "none";
}

Result<PartitionTable> read_partition_table(const DiskReadFn& read, uint64_t disk_size,
                                            const std::string& disk_name,
                                            const PartitionOptions& options) {
  const uint32_t ss = options.sector_size;
  if (ss != 0 && ss != 512 && ss != 4096)
    return usage("sector size " + std::to_string(ss) + ": only 512 and 4096 are supported");
  PartitionTable table;
  table.sector_size = ss ? ss : 512;
  if (disk_size < 512) return table;
  const Disk disk{read, disk_size, disk_name};
  std::array<uint8_t, 512> sector0;
  QF_TRY(disk.read_at(sector0, 0, "MBR"));

  bool gpt = mbr_protective(sector0);
  // A GPT records its sector size by where its header stands, so the hint
  // (for MBR, which records none) never hides one.
  for (uint32_t size : {512u, 4096u}) {
    if (gpt) continue;
    QF_ASSIGN(gpt, gpt_signature_at_lba1(disk, size));
    if (gpt && !mbr_signature(sector0))
      table.warnings.push_back("no protective MBR in front of the GPT");
  }
  if (gpt) {
    QF_TRY(read_gpt(disk, table));
    return table;
  }
  if (!mbr_signature(sector0) || !mbr_plausible(sector0)) return table;
  QF_TRY(read_mbr(disk, sector0, table.sector_size, table));
  return table;
}

}  // namespace qflash
