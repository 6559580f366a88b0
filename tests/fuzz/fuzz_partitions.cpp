// Fuzz target: the partition-table parser (MBR with extended chains, GPT
// with its backup) over a disk in memory. The first byte picks the sector
// size option (detect, 512, 4096); the rest is the disk.
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "engine/partitions/partitions.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const uint32_t kSectorSizes[] = {0, 512, 4096};
  const qflash::PartitionOptions options{kSectorSizes[data[0] % 3]};
  const uint8_t* disk = data + 1;
  const uint64_t disk_size = size - 1;
  auto read = [&](std::span<uint8_t> buf, uint64_t offset) -> qflash::Status {
    // The parser promises never to read past the end of the disk.
    if (offset > disk_size || buf.size() > disk_size - offset) std::abort();
    if (!buf.empty()) std::memcpy(buf.data(), disk + offset, buf.size());
    return {};
  };
  auto table = qflash::read_partition_table(read, disk_size, "disk", options);
  if (!table) return 0;
  for (const auto& p : table->partitions)
    if (table->find(p.number) != &p) std::abort();
  (void)table->numbers();
  return 0;
}
