// The partition table of an image's virtual disk, and the guest ranges of
// the partitions chosen for the targets of a write (--partition).
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "engine/chain/chain.h"
#include "engine/partitions/partitions.h"

namespace qflash {

struct PartitionChoice {
  std::vector<unsigned> numbers;  // one per target, or one for all; empty: whole disk
  PartitionOptions table;
};

// Reads the partition table of the chain's virtual disk.
Result<PartitionTable> image_partitions(Chain& chain, const PartitionOptions& options);

// {guest offset, length} per target: the whole disk without numbers, else
// the chosen partitions. Refuses (usage errors) a disk without a table and
// numbers that do not exist, naming those that do; table warnings (backup
// GPT used) are logged at LogLevel::Warning.
Result<std::vector<std::pair<uint64_t, uint64_t>>> partition_ranges(Chain& chain,
                                                                    const PartitionChoice& choice,
                                                                    size_t targets);

}  // namespace qflash
