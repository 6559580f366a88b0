// qflash-mass: one image onto many drives at once; the image is read and
// decoded once, every target written from the same buffers.
#include <cstdio>
#include <string>

#include "tools/cli/cli.h"
#include "tools/cli/flash.h"
#include "tools/cli/options.h"
#include "tools/cli/signals.h"

int main(int argc, char** argv) {
  using namespace qflash::cli;
  // Before any thread exists, so that none can be killed by SIGINT/SIGTERM.
  watch_stop_signals();
  const std::string help = std::string(
      "Usage: qflash-mass [options] [--partition N] IMAGE TARGET...\n"
      "Writes the virtual disk of IMAGE onto every TARGET at once (regular files\n"
      "or block devices). Block devices are only written with --yes or after\n"
      "confirmation on a terminal, never while mounted. A target that fails is\n"
      "dropped and the others finish. With --partition N, only partition N of the\n"
      "virtual disk (as 'qflash partitions' numbers it) goes onto every TARGET.\n"
      "Exit status: 0 every target written, 1 bad usage, bad image or refused\n"
      "target (nothing written), 2 some targets failed or the run failed after\n"
      "writing (the report says how many bytes reached each), 130 interrupted.\n\n") +
      kFlashOptionsHelp +
      "      --partition=N    write partition N of the virtual disk, not all of it\n"
      "      --sector-size=512|4096  logical sector size of an MBR disk (GPT: detected)\n";
  FlashRequest req;
  std::vector<std::string> pos;
  auto options = flash_options(req, "qflash-mass");
  options.push_back({"partition", true, [&req](const char* v) {
                       unsigned n;
                       if (!req.partitions.numbers.empty() || !parse_partition_number(v, n)) {
                         std::fprintf(stderr,
                                      "qflash-mass: --partition takes one number, not '%s'\n", v);
                         return false;
                       }
                       req.partitions.numbers = {n};
                       return true;
                     }});
  options.push_back({"sector-size", true, [&req](const char* v) {
                       return parse_sector_size("qflash-mass", v, req.partitions.table.sector_size);
                     }});
  int rc = parse_options(argc, argv, "qflash-mass", help.c_str(), options, pos);
  if (rc >= 0) return rc;
  if (pos.size() < 2) {
    std::fprintf(stderr, "qflash-mass: expected IMAGE and at least one TARGET\n%s", help.c_str());
    return kBadInput;
  }
  req.image = pos[0];
  req.targets.assign(pos.begin() + 1, pos.end());
  return flash("qflash-mass", req);
}
