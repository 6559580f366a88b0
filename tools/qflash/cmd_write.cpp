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
  auto bad = [](const char* what, const char* v) {
    std::fprintf(stderr, "qflash write: %s '%s'\n", what, v);
    return false;
  };
  int rc = parse_options(
      argc, argv, "qflash write", kHelp,
      {{"yes", false, [&](const char*) { return req.yes = true; }},
       {"partition", true,
        [&](const char* v) {
          const std::string arg = v;
          const size_t eq = arg.find('=');
          unsigned n;
          if (eq == std::string::npos || eq + 1 == arg.size() ||
              !parse_partition_number(arg.substr(0, eq), n))
            return bad("--partition takes N=TARGET, not", v);
          for (const auto& t : req.targets)
            if (t == arg.substr(eq + 1)) return bad("two partitions onto one target:", v);
          req.partitions.numbers.push_back(n);
          req.targets.push_back(arg.substr(eq + 1));
          return true;
        }},
       {"sector-size", true,
        [&](const char* v) {
          const std::string s = v;
          if (s != "512" && s != "4096") return bad("--sector-size is 512 or 4096, not", v);
          req.partitions.table.sector_size = uint32_t(std::stoul(s));
          return true;
        }}},
      pos);
  if (rc >= 0) return rc;
  const size_t want = req.partitions.numbers.empty() ? 2 : 1;
  if (pos.size() != want) {
    std::fputs(req.partitions.numbers.empty() || pos.size() < want
                   ? kHelp
                   : "qflash write: with --partition, TARGETs go in N=TARGET, not alone\n",
               stderr);
    return kBadInput;
  }
  req.image = pos[0];
  if (want == 2) req.targets = {pos[1]};
  return flash("qflash", req);
}

}  // namespace qflash::cli
