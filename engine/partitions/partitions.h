// Partition tables of a virtual disk: MBR (primaries, extended and the chain
// of logical partitions numbered from 5, as Linux does) and GPT (header and
// entry-array CRCs checked, backup header used when the primary is damaged),
// with 512- or 4096-byte logical sectors. The parser sees only a read
// function and the disk size, so it knows nothing of QCOW2.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "io/base/error.h"

namespace qflash {

// Fills the span with the disk's bytes at the offset (never past the end).
using DiskReadFn = std::function<Status(std::span<uint8_t>, uint64_t)>;

enum class TableKind { None, Mbr, Gpt };

struct Partition {
  unsigned number = 0;        // as Linux names it: sda<number>
  uint64_t first_sector = 0;  // inclusive, in logical sectors
  uint64_t last_sector = 0;   // inclusive
  uint64_t offset = 0;        // bytes from the start of the disk
  uint64_t length = 0;        // bytes
  std::string type;           // GPT type GUID, or MBR type byte as "0x83"
  std::string type_name;      // friendly name, "" when unknown
  std::string name;           // GPT partition name in UTF-8; "" for MBR
  std::string guid;           // GPT unique GUID; MBR: Linux PARTUUID "1234abcd-05"
  uint64_t attributes = 0;    // GPT attribute bits
  bool bootable = false;      // MBR active flag
  bool extended = false;      // MBR extended partition: the logicals' container
};

struct PartitionTable {
  TableKind kind = TableKind::None;
  uint32_t sector_size = 512;
  std::string disk_id;       // GPT disk GUID, or MBR signature "0x1234abcd"
  bool backup_used = false;  // GPT: the primary header or entries were damaged
  std::vector<std::string> warnings;
  std::vector<Partition> partitions;  // by number

  const Partition* find(unsigned number) const;
  // "1, 2, 5" for error messages.
  std::string numbers() const;
};

struct PartitionOptions {
  // Logical sector size of an MBR disk; 0 means 512, as an MBR records
  // none. A GPT is found and sized by its header (LBA 1 of 512- or 4096-byte
  // sectors) whatever this says.
  uint32_t sector_size = 0;
};

// Reads and checks the table; a disk without one gives TableKind::None.
// Malformed tables are errors naming `disk_name` and the fault.
Result<PartitionTable> read_partition_table(const DiskReadFn& read, uint64_t disk_size,
                                            const std::string& disk_name,
                                            const PartitionOptions& options = {});

const char* table_kind_name(TableKind kind);

}  // namespace qflash
