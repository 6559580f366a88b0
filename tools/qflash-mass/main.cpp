// qflash-mass: one image onto many drives at once; the image is read and
// decoded once, every target written from the same buffers.
#include <cstdio>
#include <cstring>
#include <string>

#include "tools/cli/cli.h"
#include "tools/cli/flash.h"
#include "tools/cli/options.h"

int main(int argc, char** argv) {
  using namespace qflash::cli;
  const std::string help = std::string(
      "Usage: qflash-mass [options] IMAGE TARGET...\n"
      "Writes the virtual disk of IMAGE onto every TARGET at once (regular files\n"
      "or block devices). Block devices are only written with --yes or after\n"
      "confirmation on a terminal, never while mounted. A target that fails is\n"
      "dropped and the others finish.\n"
      "Exit status: 0 every target written, 1 bad usage, bad image or refused\n"
      "target (nothing written), 2 some targets failed, 130 interrupted.\n\n") +
      kFlashOptionsHelp + "      --version        print the version\n";
  if (argc == 2 && std::strcmp(argv[1], "--version") == 0) {
    std::puts("qflash-mass 0.1");
    return kOk;
  }
  FlashRequest req;
  std::vector<std::string> pos;
  int rc = parse_options(argc, argv, "qflash-mass", help.c_str(), flash_options(req, "qflash-mass"),
                         pos);
  if (rc >= 0) return rc;
  if (pos.size() < 2) {
    std::fprintf(stderr, "qflash-mass: expected IMAGE and at least one TARGET\n%s", help.c_str());
    return kBadInput;
  }
  req.image = pos[0];
  req.targets.assign(pos.begin() + 1, pos.end());
  return flash("qflash-mass", req);
}
