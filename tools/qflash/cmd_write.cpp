// qflash write: the whole virtual disk onto one target.
#include <cstdio>

#include "tools/cli/cli.h"
#include "tools/cli/flash.h"
#include "tools/cli/options.h"
#include "tools/qflash/commands.h"

namespace qflash::cli {
namespace {

const char kHelp[] =
    "Usage: qflash write IMAGE TARGET [--yes] [--header=H]... [--debug]\n"
    "Writes the virtual disk of IMAGE onto TARGET. A regular file is created\n"
    "or truncated to the virtual size; a block device must be at least that\n"
    "large, unmounted, and is only written with --yes or after confirmation.\n"
    "  --yes       do not ask before overwriting a block device\n"
    "  --header H  'Name: value' sent with every HTTP request (repeatable)\n";

}  // namespace

int cmd_write(int argc, char** argv) {
  FlashRequest req;
  std::vector<std::string> pos;
  int rc = parse_options(argc, argv, "qflash write", kHelp,
                         {{"yes", false, [&](const char*) { return req.yes = true; }},
                          header_option("qflash write", req.source)},
                         pos);
  if (rc >= 0) return rc;
  if (pos.size() != 2) {
    std::fputs(kHelp, stderr);
    return kBadInput;
  }
  req.image = pos[0];
  req.targets = {pos[1]};
  return flash("qflash", req);
}

}  // namespace qflash::cli
