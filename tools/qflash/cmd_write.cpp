// qflash write: the whole virtual disk onto one target, or chosen partitions
// of it onto their own targets (all in one pass over the image), through the
// same write path as qflash-mass.
#include <cstdio>
#include <string>

#include "tools/cli/cli.h"
#include "tools/cli/flash.h"
#include "tools/cli/options.h"
#include "tools/qflash/commands.h"

namespace qflash::cli {

int cmd_write(int argc, char** argv) {
  const std::string help =
      std::string(
          "Usage: qflash write [options] IMAGE TARGET\n"
          "       qflash write [options] IMAGE --partition N=TARGET [--partition M=TARGET2 ...]\n"
          "Writes the virtual disk of IMAGE onto TARGET. A regular file is created\n"
          "or truncated to the virtual size; a block device must be at least that\n"
          "large, unmounted, and is only written with --yes or after confirmation.\n"
          "With --partition, only partition N (as 'qflash partitions' numbers it) goes\n"
          "onto TARGET, which is sized like the partition; repeat for more.\n"
          "Exit status: 0 written, 1 bad usage, bad image or refused target (nothing\n"
          "written), 2 failed after writing (the report says how many bytes reached\n"
          "the target), 130 interrupted.\n\n") +
      kFlashOptionsHelp +
      "      --partition=N=TARGET    partition N onto TARGET (repeatable)\n"
      "      --sector-size=512|4096  logical sector size of an MBR disk (GPT: detected)\n";
  FlashRequest req;
  std::vector<std::string> pos;
  auto options = flash_options(req, "qflash write");
  options.push_back(
      {"partition", true, [&req](const char* v) {
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
       }});
  options.push_back({"sector-size", true, [&req](const char* v) {
                       return parse_sector_size("qflash write", v,
                                                req.partitions.table.sector_size);
                     }});
  int rc = parse_options(argc, argv, "qflash write", help.c_str(), options, pos);
  if (rc >= 0) return rc;
  const bool partitions = !req.partitions.numbers.empty();
  if (pos.size() != (partitions ? 1u : 2u)) {
    std::fprintf(stderr, "qflash write: expected %s\n%s",
                 partitions ? "IMAGE alone with --partition N=TARGET" : "IMAGE and TARGET",
                 help.c_str());
    return kBadInput;
  }
  req.image = pos[0];
  if (!partitions) req.targets = {pos[1]};
  return flash("qflash", req);
}

}  // namespace qflash::cli
