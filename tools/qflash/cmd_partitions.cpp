// qflash partitions: the partition table of the virtual disk, in words or JSON.
#include <cstdio>

#include "tools/cli/cli.h"
#include "tools/cli/options.h"
#include "tools/cli/partition_ranges.h"
#include "tools/qflash/commands.h"

namespace qflash::cli {
namespace {

const char kHelp[] =
    "Usage: qflash partitions IMAGE [--output=human|json] [--sector-size=512|4096]\n"
    "                         [--header=H]... [--debug]\n"
    "Lists the partitions of IMAGE's virtual disk (MBR or GPT): number, first\n"
    "and last sector, size, type, name and unique GUID (MBR: the Linux PARTUUID).\n"
    "A disk without a partition table says so and exits 0.\n"
    "  --sector-size  logical sector size of an MBR disk (default 512; GPT: detected)\n"
    "Options for IMAGE (an http(s):// URL, a raw or compressed raw image):\n"
    QFLASH_IMAGE_OPTIONS_HELP;

std::string type_text(const Partition& p) { return p.type_name.empty() ? p.type : p.type_name; }

void print_human(const Chain& chain, const PartitionTable& t) {
  std::printf("%s: %s (%llu bytes), ", terminal_safe(chain.name()).c_str(), human_size(chain.size()).c_str(),
              static_cast<unsigned long long>(chain.size()));
  if (t.kind == TableKind::None) {
    std::printf("no partition table\n");
    return;
  }
  std::printf("%s, %u-byte sectors, %s %s%s\n", t.kind == TableKind::Gpt ? "GPT" : "MBR",
              t.sector_size, t.kind == TableKind::Gpt ? "disk GUID" : "disk identifier",
              t.disk_id.c_str(), t.backup_used ? " (from the backup header)" : "");
  if (t.partitions.empty()) {
    std::printf("no partitions\n");
    return;
  }
  // GPT: ... Type GUID Name (names may hold spaces, so last); MBR has no names.
  const bool gpt = t.kind == TableKind::Gpt;
  std::vector<std::vector<std::string>> rows{
      {"Number", "First", "Last", "Size", "Type", gpt ? "GUID" : "PARTUUID"}};
  if (gpt) rows[0].push_back("Name");
  for (const auto& p : t.partitions) {
    rows.push_back({std::to_string(p.number), std::to_string(p.first_sector),
                    std::to_string(p.last_sector),
                    human_size(p.length) + " (" + std::to_string(p.length) + ")",
                    type_text(p) + (p.bootable ? " *" : ""), p.guid});
    if (gpt) rows.back().push_back(p.name);
  }
  std::vector<size_t> width(rows[0].size());
  for (const auto& r : rows)
    for (size_t c = 0; c < r.size(); ++c) width[c] = std::max(width[c], r[c].size());
  for (const auto& r : rows) {
    std::string line;
    for (size_t c = 0; c < r.size(); ++c) {
      // Numbers right-aligned, text left-aligned; the last column (the
      // name, which may hold UTF-8) is not padded.
      const std::string& cell = r[c];
      std::string pad(width[c] - cell.size(), ' ');
      line += c < 3 ? pad + cell : cell + (c + 1 < r.size() ? pad : "");
      if (c + 1 < r.size()) line += "  ";
    }
    line.erase(line.find_last_not_of(' ') + 1);
    std::printf("%s\n", terminal_safe(line).c_str());
  }
}

void print_json(const Chain& chain, const PartitionTable& t) {
  std::printf("{\n  \"filename\": \"%s\",\n  \"virtual-size\": %llu,\n  \"table\": \"%s\",\n",
              json_escape(chain.name()).c_str(), static_cast<unsigned long long>(chain.size()),
              table_kind_name(t.kind));
  std::printf("  \"sector-size\": %u,\n  \"disk-id\": \"%s\",\n  \"backup-header-used\": %s,\n",
              t.sector_size, json_escape(t.disk_id).c_str(), t.backup_used ? "true" : "false");
  std::printf("  \"warnings\": [");
  for (size_t i = 0; i < t.warnings.size(); ++i)
    std::printf("%s\"%s\"", i ? ", " : "", json_escape(t.warnings[i]).c_str());
  std::printf("],\n  \"partitions\": [");
  for (size_t i = 0; i < t.partitions.size(); ++i) {
    const Partition& p = t.partitions[i];
    std::printf(
        "%s\n    {\"number\": %u, \"first-sector\": %llu, \"last-sector\": %llu, "
        "\"offset\": %llu, \"size\": %llu, \"size-human\": \"%s\", \"type\": \"%s\", "
        "\"type-name\": \"%s\", \"name\": \"%s\", \"guid\": \"%s\", \"attributes\": %llu, "
        "\"bootable\": %s, \"extended\": %s}",
        i ? "," : "", p.number, static_cast<unsigned long long>(p.first_sector),
        static_cast<unsigned long long>(p.last_sector), static_cast<unsigned long long>(p.offset),
        static_cast<unsigned long long>(p.length), human_size(p.length).c_str(), p.type.c_str(),
        json_escape(p.type_name).c_str(), json_escape(p.name).c_str(), p.guid.c_str(),
        static_cast<unsigned long long>(p.attributes), p.bootable ? "true" : "false",
        p.extended ? "true" : "false");
  }
  std::printf("%s]\n}\n", t.partitions.empty() ? "" : "\n  ");
}

}  // namespace

int cmd_partitions(int argc, char** argv) {
  bool json = false;
  PartitionOptions options;
  SourceOptions source;
  std::vector<std::string> pos;
  int rc = parse_options(argc, argv, "qflash partitions", kHelp,
                         with_image_options({output_option("qflash partitions", json),
                                            {"sector-size", true,
                                             [&](const char* v) {
                                               return parse_sector_size("qflash partitions", v,
                                                                        options.sector_size);
                                             }}},
                                           "qflash partitions", source),
                         pos);
  if (rc >= 0) return rc;
  auto chain = open_image_arg(pos, kHelp, source, rc);
  if (!chain) return rc;
  auto table = image_partitions(*chain, options);
  if (!table) return fail("qflash", table.error());
  for (const auto& w : table->warnings)
    std::fprintf(stderr, "qflash: warning: %s\n", terminal_safe(chain->name() + ": " + w).c_str());
  json ? print_json(*chain, *table) : print_human(*chain, *table);
  return kOk;
}

}  // namespace qflash::cli
