// qflash write: the whole virtual disk onto one target, through the same
// write path as qflash-mass.
#include <cstdio>
#include <string>

#include "tools/cli/cli.h"
#include "tools/cli/flash.h"
#include "tools/cli/options.h"
#include "tools/qflash/commands.h"

namespace qflash::cli {

int cmd_write(int argc, char** argv) {
  const std::string help = std::string(
      "Usage: qflash write [options] IMAGE TARGET\n"
      "Writes the virtual disk of IMAGE onto TARGET. A regular file is created\n"
      "or truncated to the virtual size; a block device must be at least that\n"
      "large, unmounted, and is only written with --yes or after confirmation.\n"
      "Exit status: 0 written, 1 bad usage, bad image or refused target (nothing\n"
      "written), 2 the target failed, 130 interrupted.\n\n") + kFlashOptionsHelp;
  FlashRequest req;
  std::vector<std::string> pos;
  int rc = parse_options(argc, argv, "qflash write", help.c_str(),
                         flash_options(req, "qflash write"), pos);
  if (rc >= 0) return rc;
  if (pos.size() != 2) {
    std::fprintf(stderr, "qflash write: expected IMAGE and TARGET\n%s", help.c_str());
    return kBadInput;
  }
  req.image = pos[0];
  req.targets = {pos[1]};
  return flash("qflash", req);
}

}  // namespace qflash::cli
