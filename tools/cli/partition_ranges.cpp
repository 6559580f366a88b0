#include "tools/cli/partition_ranges.h"

#include <cstdio>

#include "engine/chain/reader.h"
#include "tools/cli/cli.h"

namespace qflash::cli {

Result<PartitionTable> image_partitions(Chain& chain, const PartitionOptions& options) {
  Reader reader(chain);
  return read_partition_table(
      [&](std::span<uint8_t> buf, uint64_t offset) { return reader.read(buf, offset); },
      chain.size(), chain.name(), options);
}

Result<std::vector<std::pair<uint64_t, uint64_t>>> partition_ranges(const char* prog, Chain& chain,
                                                                    const PartitionChoice& choice,
                                                                    size_t targets) {
  if (choice.numbers.size() != 1 && choice.numbers.size() != targets)
    return usage("give one partition for all targets or one per target");
  QF_ASSIGN(PartitionTable table, image_partitions(chain, choice.table));
  for (const auto& w : table.warnings)
    std::fprintf(stderr, "%s: warning: %s\n", prog, terminal_safe(chain.name() + ": " + w).c_str());
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

bool parse_partition_number(const std::string& text, unsigned& number) {
  if (text.empty() || text.size() > 5 || text.find_first_not_of("0123456789") != std::string::npos)
    return false;
  number = unsigned(std::stoul(text));
  return number >= 1 && number <= 65536;
}

bool parse_partition_target(const std::string& text, unsigned& number, std::string& target) {
  const size_t eq = text.find('=');
  if (eq == std::string::npos || eq + 1 == text.size()) return false;
  target = text.substr(eq + 1);
  return parse_partition_number(text.substr(0, eq), number);
}

bool parse_sector_size(const char* prog, const char* text, uint32_t& sector_size) {
  const std::string s = text;
  if (s == "512" || s == "4096") {
    sector_size = uint32_t(std::stoul(s));
    return true;
  }
  std::fprintf(stderr, "%s: --sector-size is 512 or 4096, not '%s'\n", prog, text);
  return false;
}

}  // namespace qflash::cli
