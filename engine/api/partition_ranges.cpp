#include "engine/api/partition_ranges.h"

#include "engine/chain/reader.h"
#include "io/base/debug.h"

namespace qflash {

Result<PartitionTable> image_partitions(Chain& chain, const PartitionOptions& options) {
  Reader reader(chain);
  return read_partition_table(
      [&](std::span<uint8_t> buf, uint64_t offset) { return reader.read(buf, offset); },
      chain.size(), chain.name(), options);
}

Result<std::vector<std::pair<uint64_t, uint64_t>>> partition_ranges(Chain& chain,
                                                                    const PartitionChoice& choice,
                                                                    size_t targets) {
  if (choice.numbers.empty())
    return std::vector<std::pair<uint64_t, uint64_t>>(targets, {0, chain.size()});
  if (choice.numbers.size() != 1 && choice.numbers.size() != targets)
    return usage("give one partition for all targets or one per target");
  QF_ASSIGN(PartitionTable table, image_partitions(chain, choice.table));
  for (const auto& w : table.warnings) log_line(LogLevel::Warning, chain.name() + ": " + w);
  if (table.kind == TableKind::None)
    return usage(chain.name() + ": the virtual disk has no partition table");
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (size_t i = 0; i < targets; ++i) {
    const unsigned n = choice.numbers[choice.numbers.size() == 1 ? 0 : i];
    const Partition* p = table.find(n);
    if (!p)
      return usage(chain.name() + ": no partition " + std::to_string(n) +
                   " (partitions: " + table.numbers() + ")");
    ranges.emplace_back(p->offset, p->length);
  }
  return ranges;
}

}  // namespace qflash
