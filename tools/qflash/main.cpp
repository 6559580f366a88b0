// qflash: inspect a QCOW2 image and write it onto a file or block device.
#include <cstdio>
#include <string>

#include "qflash/qflash.h"
#include "tools/cli/signals.h"
#include "tools/qflash/commands.h"

namespace {

const char kUsage[] =
    "Usage: qflash COMMAND [options] ...\n"
    "\n"
    "Commands:\n"
    "  info IMAGE          format, sizes, features and the backing chain\n"
    "  map IMAGE           allocation map (as qemu-img map)\n"
    "  read IMAGE          raw bytes of the virtual disk to stdout\n"
    "  write IMAGE TARGET  write the virtual disk onto a file or block device\n"
    "  partitions IMAGE    the MBR or GPT partition table of the virtual disk\n"
    "  station IMAGE       flash every drive plugged into the allowed --slot(s)\n"
    "\n"
    "IMAGE is a QCOW2 or raw disk image, also compressed (gzip, xz, zstd, bzip2)\n"
    "or in a zip of one file, told apart by its content: a path, an http(s)://\n"
    "URL, or - for standard input. 'qflash COMMAND --help' for the\n"
    "options of a command; 'qflash --version' (-V) for the version. Exit status:\n"
    "0 success, 1 bad usage, bad image or refused target (nothing written),\n"
    "2 failed after writing, 130 interrupted.\n";

}  // namespace

int main(int argc, char** argv) {
  using namespace qflash::cli;
  // Before any thread exists, so that none can be killed by SIGINT/SIGTERM.
  watch_stop_signals();
  if (argc < 2) {
    std::fputs(kUsage, stderr);
    return 1;
  }
  std::string cmd = argv[1];
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (cmd == "--version" || cmd == "-V") {
    std::printf("qflash %s\n", qflash::version());
    return 0;
  }
  struct {
    const char* name;
    int (*run)(int, char**);
  } const commands[] = {
      {"info", cmd_info}, {"map", cmd_map}, {"read", cmd_read}, {"write", cmd_write},
      {"partitions", cmd_partitions}, {"station", cmd_station}};
  for (const auto& c : commands)
    if (cmd == c.name) return c.run(argc - 1, argv + 1);
  std::fprintf(stderr, "qflash: unknown command '%s'\n%s", cmd.c_str(), kUsage);
  return 1;
}
