// The table formats behind read_partition_table (MBR, GPT) and what they
// share: bounded reads of the disk, little-endian loads, the overlap check.
// Internal to engine/.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "engine/partitions/partitions.h"
#include "io/base/endian.h"

namespace qflash {

struct Disk {
  const DiskReadFn& read;
  uint64_t size;
  const std::string& name;

  // Reads `buf` at `offset`, refusing ranges past the end; `what` names the
  // structure for the error ("GPT entry array").
  Status read_at(std::span<uint8_t> buf, uint64_t offset, const char* what) const;
  Error corrupt(const std::string& msg) const { return qflash::corrupt(name + ": " + msg); }
};

// "sectors 2048-4095", for messages about a range of either table.
inline std::string sectors_text(uint64_t first, uint64_t last) {
  return "sectors " + std::to_string(first) + "-" + std::to_string(last);
}

inline constexpr size_t kMbrEntries = 446;  // four 16-byte entries
inline constexpr size_t kMbrDiskId = 440;

// 0x55 0xAA at bytes 510-511.
bool mbr_signature(std::span<const uint8_t> sector);
// An MBR with an 0xEE entry: the disk is GPT (protective or hybrid MBR).
bool mbr_protective(std::span<const uint8_t> sector);
// Boot flags 0x00/0x80 only: tells a partition table from a file system's
// boot sector, which also ends in 0x55AA.
bool mbr_plausible(std::span<const uint8_t> sector);

// Fills `table` from the MBR in `sector0` (its first 512 bytes).
Status read_mbr(const Disk& disk, std::span<const uint8_t> sector0, uint32_t sector_size,
                PartitionTable& table);

// Whether "EFI PART" stands at LBA 1 for the given sector size.
Result<bool> gpt_signature_at_lba1(const Disk& disk, uint32_t sector_size);

// Fills `table` from the primary GPT or, when it is damaged, the backup.
// The sector size is found on the disk: 512, else 4096.
Status read_gpt(const Disk& disk, PartitionTable& table);

// Refuses two of `parts` sharing a sector.
Status check_no_overlap(const Disk& disk, std::vector<const Partition*> parts);

}  // namespace qflash
