// qflash write: the whole virtual disk onto one target, or chosen partitions
// of it onto their own targets, all in one pass over the image.
#include <cstdio>

#include "tools/cli/cli.h"
#include "tools/cli/flash.h"
#include "tools/cli/options.h"
#include "tools/qflash/commands.h"

namespace qflash::cli {
namespace {

const char kHelp[] =
    "Usage: qflash write IMAGE TARGET [--yes] [--debug]\n"
    "       qflash write IMAGE --partition N=TARGET [--partition M=TARGET2 ...] [--yes]\n"
    "Writes the virtual disk of IMAGE onto TARGET. A regular file is created\n"
    "or truncated to the virtual size; a block device must be at least that\n"
    "large, unmounted, and is only written with --yes or after confirmation.\n"
    "  --partition N=TARGET  write only partition N (as 'qflash partitions'\n"
    "                        numbers it) onto TARGET, which is sized like the\n"
    "                        partition; repeat for more partitions\n"
    "  --sector-size=512|4096  logical sector size of an MBR disk (GPT: detected)\n"
    "  --yes                 do not ask before overwriting a block device\n";

}  // namespace

int cmd_write(int argc, char** argv) {
  FlashRequest req;
  std::vector<std::string> pos;
  auto partition = [&](const char* v) {
    unsigned n;
    std::string target;
    if (!parse_partition_target(v, n, target)) {
      std::fprintf(stderr, "qflash write: --partition takes N=TARGET, not '%s'\n", v);
      return false;
    }
    for (const auto& t : req.targets)
      if (t == target) {
        std::fprintf(stderr, "qflash write: two partitions onto %s\n", target.c_str());
        return false;
      }
    req.partitions.numbers.push_back(n);
    req.targets.push_back(target);
    return true;
  };
  auto sector_size = [&](const char* v) {
    return parse_sector_size("qflash write", v, req.partitions.table.sector_size);
  };
  int rc = parse_options(argc, argv, "qflash write", kHelp,
                         {{"yes", false, [&](const char*) { return req.yes = true; }},
                          {"partition", true, partition},
                          {"sector-size", true, sector_size}},
                         pos);
  if (rc >= 0) return rc;
  const size_t want = req.partitions.numbers.empty() ? 2 : 1;
  if (pos.size() != want) {
    std::fputs(want == 1 && pos.size() > 1
                   ? "qflash write: with --partition, each TARGET goes in N=TARGET\n"
                   : kHelp,
               stderr);
    return kBadInput;
  }
  req.image = pos[0];
  if (want == 2) req.targets = {pos[1]};
  return flash("qflash", req);
}

}  // namespace qflash::cli
