// Partitions for the front ends: the table of an image's virtual disk, and
// the guest ranges of the partitions chosen with --partition.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "engine/chain/chain.h"
#include "engine/partitions/partitions.h"

namespace qflash::cli {

struct PartitionChoice {
  std::vector<unsigned> numbers;  // one per target, or one for all; empty: whole disk
  PartitionOptions table;
};

// Reads the partition table of the chain's virtual disk.
Result<PartitionTable> image_partitions(Chain& chain, const PartitionOptions& options);

// {guest offset, length} per target. Refuses a disk without a table and
// numbers that do not exist (naming those that do); table warnings (backup
// GPT used) go to stderr.
Result<std::vector<std::pair<uint64_t, uint64_t>>> partition_ranges(const char* prog, Chain& chain,
                                                                    const PartitionChoice& choice,
                                                                    size_t targets);

// "3" -> 3; false for anything but a number from 1 to 65536.
bool parse_partition_number(const std::string& text, unsigned& number);

// "3=/dev/sdb1" -> 3, "/dev/sdb1"; false when malformed.
bool parse_partition_target(const std::string& text, unsigned& number, std::string& target);

// --sector-size: "512" or "4096", else an error on stderr and false.
bool parse_sector_size(const char* prog, const char* text, uint32_t& sector_size);

}  // namespace qflash::cli
